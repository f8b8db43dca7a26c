mod books;
mod health;
mod helpers;

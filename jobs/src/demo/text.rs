//! The demo catalog's books and their chapter text: hand-written sentence pools combined per
//! book and chapter, so no chapter repeats one paragraph and no two chapters read the same.

use crate::authoring::word_count;

/// The language a book is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

/// One demo book beyond the original five.
pub struct Book {
    pub name: &'static str,
    pub category: i32,
    pub finished: bool,
    pub description: &'static str,
}

/// A demo author: username, pen name, language and books.
pub struct Author {
    pub username: &'static str,
    pub pen_name: &'static str,
    pub lang: Lang,
    pub books: [Book; 5],
}

const fn book(
    name: &'static str,
    category: i32,
    finished: bool,
    description: &'static str,
) -> Book {
    Book {
        name,
        category,
        finished,
        description,
    }
}

pub const AUTHORS: &[Author] = &[
    Author {
        username: "mo_bai",
        pen_name: "墨白",
        lang: Lang::Zh,
        books: [
            book(
                "星河剑主",
                1,
                false,
                "少年林枫得一柄残剑，剑中封着一条星河。他从青州小城出发，一步步走向诸天万界。",
            ),
            book(
                "青云仙途",
                2,
                true,
                "一个采药童子误入青云宗，从外门杂役做起，凭一颗不服输的心踏上长生之路。",
            ),
            book(
                "长安夜雨",
                4,
                true,
                "天宝年间，长安城连下七日夜雨，一桩宫中旧案被重新翻开，牵出半个朝堂。",
            ),
            book(
                "都市修真医仙",
                3,
                false,
                "医学院毕业生回到家乡小诊所，白天看病，夜里修行，慢慢改变了整条街的命运。",
            ),
            book(
                "龙渊",
                1,
                false,
                "龙渊之下埋着上古的秘密。守渊人的后代沈清秋，必须在封印松动前找到答案。",
            ),
        ],
    },
    Author {
        username: "su_xiaonuan",
        pen_name: "苏小暖",
        lang: Lang::Zh,
        books: [
            book(
                "桃花酿",
                7,
                true,
                "江南小镇的酒坊里，酿酒姑娘与赶考书生的一段细水长流的缘分。",
            ),
            book(
                "锦绣良缘",
                7,
                false,
                "侯府庶女苏念步步为营，在深宅大院里为自己挣出一条光明的路。",
            ),
            book(
                "月下相思",
                7,
                true,
                "一封寄错的信，让相隔千里的两个人在月光下写了整整十年。",
            ),
            book(
                "时光不负你",
                3,
                false,
                "毕业十年后的同学会上，她又见到了那个在图书馆替她占座的男生。",
            ),
            book(
                "暖风十里",
                7,
                false,
                "她在海边开了一家书店，每天都有人来借书，也有人来借一段时光。",
            ),
        ],
    },
    Author {
        username: "ada_stone",
        pen_name: "Ada Stone",
        lang: Lang::En,
        books: [
            book(
                "The Clockwork Heir",
                5,
                false,
                "An orphan inherits a clock that runs backwards, and a city that wants it stopped.",
            ),
            book(
                "Salt and Starlight",
                1,
                true,
                "A salt-witch and a fallen star cross a drowned kingdom to mend the sky.",
            ),
            book(
                "Last Signal from Europa",
                5,
                false,
                "The relay under the ice goes quiet. Three engineers go down to find out why.",
            ),
            book(
                "The Ninth Guild",
                6,
                true,
                "Eight guilds rule the tournament. A team of misfits signs up as the ninth.",
            ),
            book(
                "Ashes of the Northern Court",
                4,
                false,
                "A disgraced general returns to a court that burned her banner, with a list of names.",
            ),
        ],
    },
    Author {
        username: "bei_ming",
        pen_name: "北冥客",
        lang: Lang::Zh,
        books: [
            book(
                "大秦铁骑",
                4,
                true,
                "函谷关外，一名无名小卒在铁与血中成长为大秦的上将军。",
            ),
            book(
                "三国之烽烟",
                4,
                false,
                "穿越到建安元年的历史系学生，只想活下去，却被卷进了群雄逐鹿。",
            ),
            book(
                "剑出昆仑",
                2,
                false,
                "昆仑山上的最后一名剑客下山，江湖已不是师父口中的江湖。",
            ),
            book(
                "无尽星海",
                5,
                false,
                "人类舰队在星海边缘发现了一座无人的城市，城里的灯却一直亮着。",
            ),
            book(
                "荒古禁地",
                1,
                true,
                "禁地每隔百年开启一次，这一次走出来的，只有一个满身是血的少年。",
            ),
        ],
    },
    Author {
        username: "leo_park",
        pen_name: "Leo Park",
        lang: Lang::En,
        books: [
            book(
                "Respawn at Dawn",
                6,
                false,
                "A retired pro gamer logs back in for one last season, and the game remembers him.",
            ),
            book(
                "Grandmaster of the Arena",
                6,
                true,
                "Every match is live, every loss is public, and the arena never forgets a name.",
            ),
            book(
                "The Quiet Detective",
                3,
                false,
                "A detective who never raises his voice, and a city that keeps telling him lies.",
            ),
            book(
                "Ghosts of Harbour Street",
                5,
                true,
                "The new tenant at number nine hears footsteps. The landlord says the house is empty.",
            ),
            book(
                "A Sword in Autumn",
                2,
                false,
                "An old swordswoman takes one last student, and one last duel she cannot refuse.",
            ),
        ],
    },
    Author {
        username: "lin_xizhao",
        pen_name: "林夕照",
        lang: Lang::Zh,
        books: [
            book(
                "灵异档案馆",
                5,
                false,
                "市档案馆地下三层，存放着不能公开的卷宗。新来的管理员第一天就听见有人翻页。",
            ),
            book(
                "电竞之王者归来",
                6,
                false,
                "昔日的冠军选手重回赛场，这一次，他要带着一支新队伍打上世界赛。",
            ),
            book(
                "重生之商业帝国",
                3,
                true,
                "重回一九九八年，他手里只有三百块钱和二十年后的记忆。",
            ),
            book(
                "山海异闻录",
                1,
                false,
                "按图索骥，少年和他的老黄狗走遍山海，记下每一种奇异的生灵。",
            ),
            book(
                "盛世红妆",
                7,
                true,
                "将门之女披甲上阵，守住了边关，也守住了一个人的承诺。",
            ),
        ],
    },
];

/// Category and story state of the original five books, by name.
pub const ORIGINAL_DETAILS: &[(&str, i32, bool, &str)] = &[
    (
        "The Jade Pavilion",
        2,
        false,
        "A swordsman keeps a pavilion of jade by the river; every guest brings a story, and one brings a blade.",
    ),
    (
        "Nine Moons Over Lanzhou",
        1,
        true,
        "Nine moons rise over the city of Lanzhou one autumn night, and a lamp-lighter is the only one who counts them.",
    ),
    (
        "Coins of the Western Market",
        4,
        false,
        "A money-changer in the western market of Chang'an finds a coin that has not been minted yet.",
    ),
    (
        "The Unfinished Draft",
        3,
        false,
        "A novelist's last manuscript, found in a tea house, ends in the middle of a sentence.",
    ),
    (
        "A Scholar's Long Night",
        4,
        true,
        "On the night before the palace examination, a poor scholar meets a stranger who knows every question.",
    ),
];

const ZH_OPENINGS: &[&str] = &[
    "天刚蒙蒙亮，{hero}就已经站在{place}的城门下，手里攥着那封没有署名的信。",
    "{place}的雨下了整整三天，{hero}坐在茶楼二层，看着街上的行人撑着油纸伞匆匆走过。",
    "这一夜，{hero}睡得极不安稳，梦里总有人在远处喊他的名字。",
    "集市上人声鼎沸，卖糖人的老汉吆喝着，{hero}却只盯着角落里那个戴斗笠的人。",
    "山路崎岖，{hero}背着行囊走了半日，终于望见了{place}的炊烟。",
    "师父临走前只留下一句话：“遇事不决，先看三遍。”{hero}一直记着。",
    "{hero}推开木门，屋里落满了灰，桌上却摆着一杯还冒着热气的茶。",
    "消息传到{place}的时候，已经是第三天的黄昏了。",
    "夜风从河面上吹过来，带着淡淡的水草气味，{hero}裹紧了衣裳。",
    "谁也没想到，那场比试竟会以这样的方式收场。",
    "{hero}数了数身上的铜钱，一共十七枚，够住两晚客栈，或者买一匹瘦马。",
];

const ZH_FOLLOWS: &[&str] = &[
    "他没有说话，只是轻轻点了点头，仿佛早就料到会有今天。",
    "远处传来几声犬吠，很快又安静下来，只剩下灯芯偶尔爆开的轻响。",
    "“你来得正好，”那人笑道，“我等了你很久。”",
    "她低头想了片刻，把那枚玉佩重新收进了袖中。",
    "街角的老槐树下，几个孩子正在玩跳房子，笑声一阵接着一阵。",
    "这件事说来话长，要从二十年前的那个冬天讲起。",
    "空气里弥漫着桂花的香气，让人一时忘了身在何处。",
];

const EN_OPENINGS: &[&str] = &[
    "{hero} reached {place} just before the gates closed, with a letter nobody had signed.",
    "Rain fell on {place} for three days, and {hero} watched it from the window of a crowded inn.",
    "That night {hero} slept badly, dreaming of a voice that called from very far away.",
    "The market was loud with bargaining, but {hero} only watched the stranger in the grey hood.",
    "The road climbed all afternoon before {hero} saw the chimneys of {place} below.",
    "{hero} pushed the door open. Dust lay on everything, yet the tea on the table was still warm.",
    "The news reached {place} on the evening of the third day, carried by a tired rider.",
    "A cold wind came off the river, and {hero} pulled the old coat tighter.",
    "Nobody had expected the contest to end the way it did, least of all {hero}.",
    "{hero} counted the coins twice: enough for two nights at an inn, or one thin horse.",
    "The lamps along the canal were lit one by one as {hero} walked home.",
];

const EN_FOLLOWS: &[&str] = &[
    "Nobody answered; somewhere a dog barked twice and fell silent.",
    "\"You came at last,\" someone said from the dark. \"I have waited a long time.\"",
    "It was a long story, and it began on a winter night twenty years before.",
    "For a moment the smell of rain and cedar made everything else seem far away.",
    "The children by the well stopped their game to stare, then laughed and ran off.",
    "There was no going back now, and both of them knew it.",
    "The candle guttered, steadied, and burned on.",
];

const ZH_HEROES: &[&str] = &["林枫", "沈清秋", "萧远", "叶青", "顾长歌", "苏念", "陆沉"];
const ZH_PLACES: &[&str] = &["青州", "长安", "云梦泽", "临安", "北境", "天枢城"];
const EN_HEROES: &[&str] = &["Mara", "Elias", "Juno", "Tobias", "Wren", "Cass", "Ilya"];
const EN_PLACES: &[&str] = &[
    "Harrowgate",
    "the Glass Quarter",
    "Port Selene",
    "the northern marches",
    "Lanzhou",
];

const ZH_TITLES: &[&str] = &[
    "初入江湖",
    "雨夜来客",
    "旧信",
    "试剑",
    "风起",
    "故人",
    "夜市",
    "暗流",
    "离别",
    "归途",
    "长街",
    "灯火",
];
const EN_TITLES: &[&str] = &[
    "The Letter",
    "A Guest in the Rain",
    "Old Debts",
    "The Trial",
    "Wind from the North",
    "An Old Friend",
    "Night Market",
    "Undertow",
    "Parting",
    "The Road Home",
    "Long Street",
    "Lamplight",
];

/// The name of chapter `n` (from 1) of a book in `lang`.
pub fn chapter_name(lang: Lang, seed: usize, n: usize) -> String {
    match lang {
        Lang::Zh => format!("第{n}章 {}", ZH_TITLES[(seed + n) % ZH_TITLES.len()]),
        Lang::En => format!("Chapter {n}: {}", EN_TITLES[(seed + n) % EN_TITLES.len()]),
    }
}

/// Chapter `n` (from 1) of the book with `seed`: paragraphs, each an opening and a follow-up
/// sentence, until the chapter holds at least `min_words` words. Paragraph `k` pairs opening
/// `k mod 11` with follow-up `(seed + 2k) mod 7`, so a chapter repeats none of its first 77.
pub fn chapter_text(
    lang: Lang,
    seed: usize,
    n: usize,
    first: Option<&str>,
    min_words: i64,
) -> String {
    let (openings, follows, heroes, places) = match lang {
        Lang::Zh => (ZH_OPENINGS, ZH_FOLLOWS, ZH_HEROES, ZH_PLACES),
        Lang::En => (EN_OPENINGS, EN_FOLLOWS, EN_HEROES, EN_PLACES),
    };
    let hero = heroes[seed % heroes.len()];
    let place = places[(seed / 2 + n) % places.len()];
    let mut paragraphs: Vec<String> = first.map(str::to_owned).into_iter().collect();
    let mut words: i64 = paragraphs.iter().map(|p| word_count(p)).sum();
    let start = seed * 5 + n * 3;
    for k in 0.. {
        if words >= min_words {
            break;
        }
        let opening = openings[(start + k) % openings.len()]
            .replace("{hero}", hero)
            .replace("{place}", place);
        let follow = follows[(seed + n + 2 * k) % follows.len()];
        let separator = if lang == Lang::En { " " } else { "" };
        let paragraph = format!("{opening}{separator}{follow}");
        words += word_count(&paragraph);
        paragraphs.push(paragraph);
    }
    paragraphs.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chapter_repeats_no_paragraph_and_chapters_differ() {
        for lang in [Lang::Zh, Lang::En] {
            let one = chapter_text(lang, 3, 1, None, 3000);
            let paragraphs: Vec<&str> = one.split("\n\n").collect();
            let mut distinct = paragraphs.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert!(paragraphs.len() > 10, "{lang:?}: {}", paragraphs.len());
            assert_eq!(distinct.len(), paragraphs.len(), "{lang:?}: {one}");
            assert_ne!(one, chapter_text(lang, 3, 2, None, 3000));
            assert!(word_count(&one) >= 3000);
            assert!(!one.contains('{'), "placeholders filled: {one}");
        }
    }

    #[test]
    fn a_chapter_stops_within_one_paragraph_of_its_length() {
        let text = chapter_text(Lang::En, 0, 4, Some("First."), 1000);
        assert!(text.starts_with("First.\n\n"));
        let words = word_count(&text);
        assert!((1000..1200).contains(&words), "{words}");
    }
}

//! Bar charts drawn on the server as SVG geometry the templates render (escaped like any value):
//! one group of bars per day, one bar per series.

use serde::Serialize;

const WIDTH: u32 = 720;
const HEIGHT: u32 = 200;
/// Room below the bars for the day labels.
const LABELS: u32 = 18;

/// One series: its name (the legend and each bar's title) and a CSS class for its colour.
pub struct Series<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub values: Vec<i64>,
}

#[derive(Debug, Serialize)]
pub struct Chart {
    pub width: u32,
    pub height: u32,
    pub max: i64,
    pub legend: Vec<Legend>,
    pub bars: Vec<Bar>,
    pub labels: Vec<Label>,
}

#[derive(Debug, Serialize)]
pub struct Legend {
    pub name: String,
    pub class: String,
}

#[derive(Debug, Serialize)]
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub class: String,
    /// The tooltip: day, series and value.
    pub title: String,
}

#[derive(Debug, Serialize)]
pub struct Label {
    pub x: u32,
    pub text: String,
}

/// Bars of every series per day, scaled to the largest value (negative values draw as 0);
/// every seventh day is labelled, counting back from the last.
pub fn bars(days: &[String], series: &[Series<'_>]) -> Chart {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = WIDTH / (days.len().max(1) as u32);
    let bar = (slot.saturating_sub(2) / (series.len().max(1) as u32)).max(1);
    let room = i64::from(HEIGHT - LABELS);
    let mut bars = Vec::new();
    let mut labels = Vec::new();
    for (d, day) in days.iter().enumerate() {
        let left = d as u32 * slot + 1;
        for (s, one) in series.iter().enumerate() {
            let value = one.values.get(d).copied().unwrap_or(0);
            let height = (value.max(0) * room / max) as u32;
            bars.push(Bar {
                x: left + s as u32 * bar,
                y: HEIGHT - LABELS - height,
                width: bar,
                height,
                class: one.class.to_owned(),
                title: format!("{day} · {}: {value}", one.name),
            });
        }
        if (days.len() - 1 - d).is_multiple_of(7) {
            labels.push(Label {
                x: left,
                text: day.get(5..).unwrap_or(day).to_owned(),
            });
        }
    }
    let legend = series
        .iter()
        .map(|s| Legend {
            name: s.name.to_owned(),
            class: s.class.to_owned(),
        })
        .collect();
    Chart {
        width: WIDTH,
        height: HEIGHT,
        max,
        legend,
        bars,
        labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_value_fills_the_height_and_each_day_holds_one_bar_per_series() {
        let days: Vec<String> = ["2026-12-01", "2026-12-02"].map(String::from).into();
        let chart = bars(
            &days,
            &[
                Series {
                    name: "in",
                    class: "a",
                    values: vec![10, 5],
                },
                Series {
                    name: "out",
                    class: "b",
                    values: vec![0, -3],
                },
            ],
        );
        assert_eq!(chart.max, 10);
        assert_eq!(chart.bars.len(), 4);
        assert_eq!(chart.bars[0].height, HEIGHT - LABELS);
        assert_eq!(chart.bars[2].height, (HEIGHT - LABELS) / 2);
        assert_eq!(chart.bars[3].height, 0, "a negative value draws as nothing");
        assert_eq!(chart.bars[2].title, "2026-12-02 · in: 5");
        assert!(chart.bars[1].x > chart.bars[0].x && chart.bars[2].x > chart.bars[1].x);
        assert_eq!(chart.labels.len(), 1, "the last day is labelled");
        assert_eq!(chart.labels[0].text, "12-02");
    }
}

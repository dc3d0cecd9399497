//! The PNG chart: throughput and p99 latency against the client count, one line per scenario.
//! plotters' bitmap backend is pure Rust; text goes through ab_glyph with a TrueType font read
//! at run time (`BENCH_FONT`, or DejaVu/Liberation where installed). Without a font the chart
//! is drawn without text, with the colours listed on the console instead.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::report::{BASE, Point};

const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Registers a font as "sans-serif"; false when none is found.
fn load_font() -> bool {
    let candidates = std::env::var("BENCH_FONT")
        .ok()
        .into_iter()
        .chain(FONT_CANDIDATES.iter().map(|s| s.to_string()));
    for path in candidates {
        if let Ok(bytes) = std::fs::read(&path) {
            // plotters keeps registered fonts for the life of the process.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                return true;
            }
        }
    }
    false
}

fn scenario_names(points: &[Point]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in points.iter().filter(|p| p.stage == BASE) {
        if !names.contains(&p.scenario) {
            names.push(p.scenario.clone());
        }
    }
    names
}

struct Panel<'a> {
    title: &'a str,
    y_desc: &'a str,
    value: fn(&Point) -> f64,
    log_y: bool,
}

pub fn draw(path: &Path, points: &[Point]) -> Result<()> {
    let text = load_font();
    let names = scenario_names(points);
    let series: Vec<(String, RGBColor, Vec<&Point>)> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let c = Palette99::pick(i).to_rgba();
            let mut pts: Vec<&Point> = points
                .iter()
                .filter(|p| &p.scenario == name && p.stage == BASE)
                .collect();
            pts.sort_by_key(|p| p.clients);
            (name.clone(), RGBColor(c.0, c.1, c.2), pts)
        })
        // A scenario measured at one client count only is a size comparison, not a curve.
        .filter(|(_, _, pts)| pts.len() > 1)
        .collect();
    if !text {
        println!("(no TrueType font found: chart drawn without text; set BENCH_FONT)");
        for (name, c, _) in &series {
            println!("   rgb({},{},{}) = {name}", c.0, c.1, c.2);
        }
    }
    // Client counts sit at evenly spaced positions, labelled with the count.
    let mut clients: Vec<usize> = points.iter().map(|p| p.clients).collect();
    clients.sort_unstable();
    clients.dedup();
    let position = |n: usize| clients.iter().position(|&c| c == n).unwrap_or(0) as f64;
    let last = clients.len().saturating_sub(1).max(1) as f64;

    let root = BitMapBackend::new(path, (1400, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("chart: {e}"))?;
    let (left, right) = root.split_horizontally(700);
    let panels = [
        Panel {
            title: "throughput (ops/s) vs clients",
            y_desc: "ops/s",
            value: |p| p.throughput,
            log_y: false,
        },
        Panel {
            title: "p99 latency (ms) vs clients",
            y_desc: "p99 ms (log)",
            value: |p| p.p99_ms,
            log_y: true,
        },
    ];
    for (area, panel) in [left, right].iter().zip(panels) {
        let values: Vec<f64> = series
            .iter()
            .flat_map(|(_, _, pts)| pts.iter().map(|p| (panel.value)(p)))
            .collect();
        let max = values.iter().copied().fold(1.0, f64::max) * 1.15;
        let min = values.iter().copied().fold(f64::MAX, f64::min).max(0.01) / 1.5;
        let mut builder = ChartBuilder::on(area);
        builder.margin(20);
        if text {
            builder
                .caption(panel.title, ("sans-serif", 22))
                .x_label_area_size(45)
                .y_label_area_size(70);
        }
        let x = -0.25f64..last + 0.25;
        let axes = Axes {
            y_desc: panel.y_desc,
            text,
            clients: &clients,
        };
        if panel.log_y {
            let mut chart = builder
                .build_cartesian_2d(x, (min..max).log_scale())
                .map_err(|e| anyhow!("chart: {e}"))?;
            mesh_and_series(&mut chart, &series, panel.value, &position, &axes)?;
        } else {
            let mut chart = builder
                .build_cartesian_2d(x, 0f64..max)
                .map_err(|e| anyhow!("chart: {e}"))?;
            mesh_and_series(&mut chart, &series, panel.value, &position, &axes)?;
        }
    }
    root.present().map_err(|e| anyhow!("chart: {e}"))?;
    Ok(())
}

type Series<'a> = [(String, RGBColor, Vec<&'a Point>)];

struct Axes<'a> {
    y_desc: &'a str,
    text: bool,
    clients: &'a [usize],
}

fn mesh_and_series<'b, Y>(
    chart: &mut ChartContext<
        'b,
        BitMapBackend<'b>,
        Cartesian2d<plotters::coord::types::RangedCoordf64, Y>,
    >,
    series: &Series<'_>,
    value: fn(&Point) -> f64,
    position: &dyn Fn(usize) -> f64,
    axes: &Axes<'_>,
) -> Result<()>
where
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>
        + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let text = axes.text;
    let label = |x: &f64| {
        let i = x.round();
        match axes.clients.get(i.max(0.0) as usize) {
            Some(c) if (x - i).abs() < 0.01 => c.to_string(),
            _ => String::new(),
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh().x_label_formatter(&label);
    if text {
        mesh.x_labels(axes.clients.len() * 4 + 1)
            .x_desc("clients")
            .y_desc(axes.y_desc);
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.draw().map_err(|e| anyhow!("chart: {e}"))?;
    for (name, color, pts) in series {
        let color = *color;
        let xy: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| (position(p.clients), value(p).max(0.01)))
            .collect();
        let drawn = chart
            .draw_series(LineSeries::new(xy.clone(), color.stroke_width(2)))
            .map_err(|e| anyhow!("chart: {e}"))?;
        if text {
            drawn.label(name.as_str()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
        chart
            .draw_series(
                xy.iter()
                    .map(|&(x, y)| Circle::new((x, y), 4, color.filled())),
            )
            .map_err(|e| anyhow!("chart: {e}"))?;
    }
    if text {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(|e| anyhow!("chart: {e}"))?;
    }
    Ok(())
}

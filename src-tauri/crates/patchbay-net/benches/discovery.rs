//! Parsing speed of model lists: an OpenRouter-sized catalog (371 models,
//! about 430 KB; target ≤ 2 ms) and 10,000 models (target ≤ 25 ms).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use patchbay_net::parse_models;

#[path = "../tests/it/catalog.rs"]
mod catalog;

fn parse(criterion: &mut Criterion) {
    let openrouter = catalog::openrouter_catalog(371);
    let ten_thousand = catalog::openai_catalog(10_000);
    let mut group = criterion.benchmark_group("parse_models");
    group.throughput(Throughput::Bytes(openrouter.len() as u64));
    group.bench_function("openrouter_371", |bencher| {
        bencher.iter(|| {
            parse_models(std::hint::black_box(openrouter.as_bytes())).map(|models| models.len())
        })
    });
    group.throughput(Throughput::Bytes(ten_thousand.len() as u64));
    group.bench_function("openai_10000", |bencher| {
        bencher.iter(|| {
            parse_models(std::hint::black_box(ten_thousand.as_bytes())).map(|models| models.len())
        })
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);

//! The call pipeline in process, and manifest loading.
//!
//! `cargo bench -p toolkit-benches --bench pipeline`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use toolkit_runtime::{Caller, Runtime, RuntimeOptions};

fn pipeline(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("tokio");
    let (_dir, tools, state) = toolkit_benches::noop_tools(1);
    let runtime = rt
        .block_on(Runtime::load(
            &RuntimeOptions { tools: vec![tools], state_dir: state },
            toolkit_connectors::registry(),
        ))
        .expect("load");
    let caller = Caller::local();
    let tool = "echo-0".parse().expect("ref");
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(1));
    group.bench_function("noop call (validate, invoke, count, audit)", |b| {
        b.to_async(&rt)
            .iter(|| async { runtime.call(&caller, &tool, json!({"message": "hello"})).await.expect("call") });
    });
    group.throughput(Throughput::Elements(16));
    group.bench_function("16 concurrent noop calls", |b| {
        b.to_async(&rt).iter(|| async {
            let calls = (0..16).map(|_| runtime.call(&caller, &tool, json!({"message": "hello"})));
            for r in futures::future::join_all(calls).await {
                r.expect("call");
            }
        });
    });
    group.finish();
}

fn loading(c: &mut Criterion) {
    let (_dir, tools, _state) = toolkit_benches::noop_tools(100);
    let registry = toolkit_connectors::registry();
    let mut group = c.benchmark_group("manifests");
    group.throughput(Throughput::Elements(100));
    group.bench_function("load and validate 100 tools", |b| {
        b.iter(|| toolkit_core::Catalog::load(std::slice::from_ref(&tools), &registry).expect("load"));
    });
    group.finish();
}

criterion_group!(benches, pipeline, loading);
criterion_main!(benches);

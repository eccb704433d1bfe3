//! Reading spread over the machine's cores: blob reads are independent per file,
//! so each worker takes the next item until none are left. Results come back in item order, so
//! output never depends on thread timing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// How many workers are worth starting for `items` pieces of work, each of which costs about
/// `per_worker_minimum` items' worth of a thread start: one worker means "do it here".
pub fn workers_for(items: usize, per_worker_minimum: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(items.div_ceil(per_worker_minimum.max(1))).max(1)
}

/// Runs `work` on every item with `workers` workers, each owning a state made by `make` on this
/// thread (such as a handle that must not be shared between threads). This thread is one of
/// them, so one worker means no thread is started. Should a thread fail to start (resource
/// limits), this thread does what is left.
pub fn map<T, S, R>(
    items: &[T],
    workers: usize,
    mut make: impl FnMut() -> S,
    work: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R>
where
    T: Sync,
    S: Send,
    R: Send,
{
    if items.is_empty() {
        return Vec::new();
    }
    if workers <= 1 {
        let mut state = make();
        return items.iter().map(|item| work(&mut state, item)).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(items.len()));
    let run = |state: &mut S| loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(item) = items.get(i) else { break };
        let result = work(state, item);
        results
            .lock()
            .expect("a worker panicked while holding the results lock")
            .push((i, result));
    };
    std::thread::scope(|scope| {
        for _ in 1..workers {
            let mut state = make();
            let run = &run;
            let spawned = std::thread::Builder::new()
                .name("dill-guard-worker".into())
                .spawn_scoped(scope, move || run(&mut state));
            if spawned.is_err() {
                break;
            }
        }
        run(&mut make());
    });
    if next.load(Ordering::Relaxed) < items.len() {
        // No worker could start: do the work here rather than leave any of it undone.
        run(&mut make());
    }
    let mut results = results
        .into_inner()
        .expect("a worker panicked while holding the results lock");
    results.sort_unstable_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_item_order_whatever_the_workers() {
        let items: Vec<u64> = (0..10_000).collect();
        let doubled: Vec<u64> = items.iter().map(|x| x * 2).collect();
        for workers in [1, 2, 7] {
            assert_eq!(map(&items, workers, || (), |_, x| x * 2), doubled);
        }
    }

    #[test]
    fn one_state_per_worker_and_every_item_done_once() {
        let items: Vec<u32> = (0..1_000).collect();
        let made = AtomicUsize::new(0);
        let out = map(
            &items,
            3,
            || made.fetch_add(1, Ordering::Relaxed),
            |_, x| *x,
        );
        assert_eq!(out, items);
        assert_eq!(made.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn small_jobs_stay_on_one_worker() {
        assert_eq!(workers_for(0, 16), 1);
        assert_eq!(workers_for(5, 16), 1);
        assert!(workers_for(10_000, 16) >= 1);
    }
}

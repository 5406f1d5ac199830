//! The behaviour every store backend owes its callers, written once against [`AudioStore`],
//! so the local folder and an S3 bucket pass the same checks unchanged. A backend's tests run
//! all of them with `store_contract_tests!(open_fresh_subject)`: the local folder in this
//! crate's unit tests, SeaweedFS in `tests/api/store_s3.rs`.
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};

use super::{AudioStore, ObjectKey, ObjectKind, StoreError};

/// A fresh, empty store, and whatever must outlive it (a temp dir, a bucket prefix …).
pub struct Subject {
    pub store: AudioStore,
    pub guard: Box<dyn Send>,
}

/// Runs every contract check as its own test against subjects from `$open` (an async fn or
/// closure returning a fresh [`Subject`]). The list lives here so no backend skips a check.
#[doc(hidden)]
#[macro_export]
macro_rules! store_contract_tests {
    ($open:expr) => {
        $crate::store_contract_tests!(@each $open;
            an_object_reads_back_under_its_hash,
            a_second_put_of_a_key_changes_nothing,
            concurrent_puts_of_one_key_all_succeed_and_store_it_once,
            ranges_stream_exactly_the_bytes_asked_for,
            a_missing_object_is_not_found,
            many_objects_are_listed_and_removed_in_batches,
            a_large_object_goes_up_in_parts_and_reads_back_whole,
        );
    };
    (@each $open:expr; $($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let subject: $crate::store::contract::Subject = ($open)().await;
            $crate::store::contract::$name(&subject.store).await;
        }
    )*};
}

/// Bytes that differ per `seed` (so each check writes its own keys).
fn content(seed: u64, len: usize) -> Bytes {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

async fn read_all(
    store: &AudioStore,
    key: &ObjectKey,
    range: Option<std::ops::Range<u64>>,
) -> Vec<u8> {
    let body = store.get(key, range).await.expect("get");
    let chunks: Vec<Bytes> = body.stream.try_collect().await.expect("stream");
    chunks.concat()
}

pub async fn an_object_reads_back_under_its_hash(store: &AudioStore) {
    let bytes = content(1, 70_000);
    let key = store.put(bytes.clone(), ObjectKind::Opus).await.unwrap();
    assert_eq!(key, ObjectKey::of(&bytes, ObjectKind::Opus));
    assert!(store.exists(&key).await.unwrap());
    assert_eq!(store.len(&key).await.unwrap(), bytes.len() as u64);
    assert_eq!(store.get_bytes(&key).await.unwrap(), bytes);
    let body = store.get(&key, None).await.unwrap();
    assert_eq!((body.len, body.range.clone()), (70_000, 0..70_000));
    assert_eq!(read_all(store, &key, None).await, bytes.to_vec());
    assert!(store.url(&key.file_name()).ends_with(&key.file_name()));
}

pub async fn a_second_put_of_a_key_changes_nothing(store: &AudioStore) {
    let first = content(2, 1000);
    let key = ObjectKey::new([7; 32], ObjectKind::Pcm);
    store.put_at(&key, first.clone()).await.unwrap();
    // A segment key names what was synthesized, not the bytes: a second writer (another
    // worker) may hold different bytes for it. The first stays.
    store.put_at(&key, content(3, 1000)).await.unwrap();
    assert_eq!(store.get_bytes(&key).await.unwrap(), first);
    let again = store.put(first.clone(), ObjectKind::Mp3).await.unwrap();
    assert_eq!(
        store.put(first.clone(), ObjectKind::Mp3).await.unwrap(),
        again
    );
    assert_eq!(store.get_bytes(&again).await.unwrap(), first);
}

pub async fn concurrent_puts_of_one_key_all_succeed_and_store_it_once(store: &AudioStore) {
    let key = ObjectKey::new([9; 32], ObjectKind::Pcm);
    let writers: Vec<_> = (0..16u64)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.put_at(&key, content(100 + i, 50_000)).await })
        })
        .collect();
    for w in writers {
        w.await.unwrap().expect("every writer succeeds");
    }
    let stored = store.get_bytes(&key).await.unwrap();
    assert!(
        (0..16u64).any(|i| stored == content(100 + i, 50_000)),
        "the object is one writer's bytes, whole"
    );
    let listed: Vec<_> = store.list("segments").try_collect().await.unwrap();
    assert_eq!(listed, vec![(key, 50_000)], "one object");
}

pub async fn ranges_stream_exactly_the_bytes_asked_for(store: &AudioStore) {
    let bytes = content(4, 600_000);
    let key = store.put(bytes.clone(), ObjectKind::Wav).await.unwrap();
    for r in [
        0..1,
        0..1000,
        250_000..250_100,
        599_990..600_000,
        0..600_000,
    ] {
        let body = store.get(&key, Some(r.clone())).await.unwrap();
        assert_eq!((body.len, body.range.clone()), (600_000, r.clone()));
        let got = read_all(store, &key, Some(r.clone())).await;
        assert_eq!(got, bytes[r.start as usize..r.end as usize], "{r:?}");
    }
}

pub async fn a_missing_object_is_not_found(store: &AudioStore) {
    let key = ObjectKey::new([3; 32], ObjectKind::Opus);
    assert!(!store.exists(&key).await.unwrap());
    assert!(matches!(store.len(&key).await, Err(StoreError::NotFound)));
    assert!(matches!(
        store.get_bytes(&key).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.get(&key, None).await,
        Err(StoreError::NotFound)
    ));
    store
        .remove(&key)
        .await
        .expect("removing a missing object is fine");
    store
        .remove_many(&[key])
        .await
        .expect("so is a batch of them");
}

pub async fn many_objects_are_listed_and_removed_in_batches(store: &AudioStore) {
    let mut keys = Vec::new();
    let puts = futures::stream::iter(0..60u64)
        .map(|i| {
            let store = store.clone();
            async move {
                let key = ObjectKey::of(&i.to_le_bytes(), ObjectKind::Pcm);
                store.put_at(&key, content(i, 64)).await.map(|_| key)
            }
        })
        .buffer_unordered(8);
    let mut puts = std::pin::pin!(puts);
    while let Some(k) = puts.next().await {
        keys.push(k.unwrap());
    }
    let published = store.put(content(99, 10), ObjectKind::Opus).await.unwrap();
    let mut listed: Vec<ObjectKey> = store
        .list("segments")
        .map_ok(|(k, _)| k)
        .try_collect()
        .await
        .unwrap();
    listed.sort_by_key(|k| k.hash_hex());
    keys.sort_by_key(|k| k.hash_hex());
    assert_eq!(listed, keys, "every segment is listed, nothing else");
    store.remove_many(&keys[..50]).await.unwrap();
    let left: Vec<_> = store.list("segments").try_collect().await.unwrap();
    assert_eq!(left.len(), 10);
    assert!(
        store.exists(&published).await.unwrap(),
        "other objects stay"
    );
}

pub async fn a_large_object_goes_up_in_parts_and_reads_back_whole(store: &AudioStore) {
    let bytes = content(5, super::MULTIPART_THRESHOLD + 3 * 1024 * 1024 + 17);
    let key = store.put(bytes.clone(), ObjectKind::Wav).await.unwrap();
    assert_eq!(store.len(&key).await.unwrap(), bytes.len() as u64);
    let got = read_all(store, &key, None).await;
    assert!(got == bytes.as_ref(), "the object reads back byte for byte");
    // Again: already there, nothing uploaded, still whole.
    store.put(bytes.clone(), ObjectKind::Wav).await.unwrap();
    let listed: Vec<_> = store.list("audio").try_collect().await.unwrap();
    assert_eq!(listed, vec![(key, bytes.len() as u64)]);
}

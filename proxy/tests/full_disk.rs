//! A cassette on a full disk: records are dropped and counted, with a loud warning, the proxy
//! goes on answering every client, the cassette stays whole lines, and recording resumes once
//! space is freed.
//!
//! The disk is a 256 KiB tmpfs mounted in a private mount namespace (`unshare --mount`) in
//! which the proxy runs, so nothing on the machine fills up; the test reaches that tmpfs
//! through `/proc/<pid>/root`.

mod faults_util;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use faults_util::{stub_upstream, Http};
use serde_json::{json, Value};

struct Proxy {
    child: Child,
    endpoint: String,
    admin: String,
    stderr: PathBuf,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The proxy in its own mount namespace, recording to `dir/c.jsonl` on a fresh tmpfs at `dir`.
fn spawn(upstream: &str, dir: &std::path::Path, stderr: PathBuf) -> Proxy {
    let mut unshare = Command::new("unshare");
    if !is_root() {
        // Without root, a user namespace lets us mount a tmpfs all the same.
        unshare.arg("--map-root-user");
    }
    let cassette = dir.join("c.jsonl");
    let mut child = unshare
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount -t tmpfs -o size=256k cogcheck-full "$1" && shift && exec "$@""#)
        .arg("sh")
        .arg(dir)
        .arg(env!("CARGO_BIN_EXE_cogcheck-proxy"))
        .args(["--upstream", upstream, "--admin", "127.0.0.1:0", "--record"])
        .arg(&cassette)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("unshare (util-linux) starts");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let (mut endpoint, mut admin) = (None, None);
    for _ in 0..4 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if let Some(e) = line.trim().strip_prefix("listening on ") {
            endpoint = Some(e.to_string());
        }
        if let Some(a) = line.trim().strip_prefix("admin on ") {
            admin = Some(a.to_string());
        }
        if endpoint.is_some() && admin.is_some() {
            break;
        }
    }
    let log = std::fs::read_to_string(&stderr).unwrap_or_default();
    match (endpoint, admin) {
        (Some(endpoint), Some(admin)) => Proxy {
            child,
            endpoint,
            admin,
            stderr,
        },
        _ => {
            let _ = child.kill();
            panic!(
                "the proxy did not start in a mount namespace with a tmpfs (this test needs \
                 `unshare` from util-linux and root or unprivileged user namespaces): {log}"
            )
        }
    }
}

async fn cassette_stats(http: &Http, admin: &str) -> Value {
    let a = http
        .send("GET", &format!("{admin}/cassette"), &[], Default::default())
        .await
        .expect("the admin API answers");
    a.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_drops_records_loudly_and_the_proxy_goes_on() {
    let upstream = format!("http://{}", stub_upstream().await);
    let tmp = tempfile::tempdir().unwrap();
    let disk = tmp.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let p = spawn(&upstream, &disk, tmp.path().join("stderr.log"));
    // The tmpfs as the proxy sees it.
    let seen =
        PathBuf::from(format!("/proc/{}/root", p.child.id())).join(disk.strip_prefix("/").unwrap());
    let cassette = seen.join("c.jsonl");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cassette.exists() {
        assert!(Instant::now() < deadline, "no cassette on the tmpfs");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Fill the disk to the last block, then free 8 KiB: room for a few exchanges only.
    let filler = seen.join("filler");
    {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = [0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        let len = f.metadata().unwrap().len();
        f.set_len(len.saturating_sub(8 * 1024)).unwrap();
    }
    let http = Http::new();
    let list = || http.api(&p.endpoint, "ListUserPools", json!({"MaxResults": 1}), &[]);
    for i in 0..40 {
        let a = list().await;
        assert_eq!(a.status, 200, "request {i} answered as usual");
    }
    let stats = cassette_stats(&http, &p.admin).await;
    let written = stats["written"].as_u64().unwrap();
    let dropped = stats["write_errors"].as_u64().unwrap();
    assert_eq!(written + dropped, 40, "{stats}");
    assert!(
        dropped > 0 && written > 0,
        "some fit, the rest were dropped: {stats}"
    );
    let log = std::fs::read_to_string(&p.stderr).unwrap();
    assert!(log.contains("RECORDS DROPPED"), "a loud warning: {log}");

    // Whole lines only: the cassette loads, and holds exactly what was written.
    let loaded = cogcheck_proxy::Cassette::load(&cassette).expect("a valid cassette");
    assert!(!loaded.torn_tail);
    assert_eq!(loaded.exchanges.len() as u64, written);

    // Space freed: recording resumes, the proxy says so, numbering goes on.
    std::fs::remove_file(&filler).unwrap();
    for _ in 0..3 {
        assert_eq!(list().await.status, 200);
    }
    let stats = cassette_stats(&http, &p.admin).await;
    assert_eq!(stats["written"].as_u64().unwrap(), written + 3, "{stats}");
    let log = std::fs::read_to_string(&p.stderr).unwrap();
    assert!(log.contains("works again"), "{log}");
    let loaded = cogcheck_proxy::Cassette::load(&cassette).unwrap();
    let seqs: Vec<u64> = loaded.exchanges.iter().map(|e| e.seq).collect();
    assert_eq!(seqs.len() as u64, written + 3);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

//! An interrupted run against a remote endpoint deletes what it created before it exits: the
//! rule that makes running against real Cognito safe. Here the "remote" endpoint is a moto the
//! test starts itself, passed to `cogcheck run --endpoint` as a user would pass real AWS.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cogcheck::client::{Client, ClientConfig};
use cogcheck::target::{Cache, RunningTarget, Targets};

/// A moto the test starts itself, a client for it, and the names of its user pools.
struct Remote {
    moto: RunningTarget,
    runtime: tokio::runtime::Runtime,
    client: Client,
}

impl Remote {
    fn start() -> Remote {
        let targets = Targets::load_default().unwrap();
        let moto = targets
            .get("moto")
            .unwrap()
            .start(&Cache::default_location().unwrap(), false)
            .expect("moto starts");
        let client = Client::new(ClientConfig::local(moto.endpoint.clone())).unwrap();
        Remote {
            moto,
            runtime: tokio::runtime::Runtime::new().unwrap(),
            client,
        }
    }

    fn endpoint(&self) -> String {
        self.moto.endpoint.clone()
    }

    fn pool_names(&self) -> Vec<String> {
        self.runtime.block_on(async {
            let r = self
                .client
                .call("ListUserPools", &serde_json::json!({"MaxResults": 60}))
                .await
                .unwrap();
            r.body["UserPools"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["Name"].as_str().map(str::to_string))
                .collect()
        })
    }

    /// A whole `cogcheck run` against this moto, started and left running, its stderr to
    /// `stderr`.
    fn start_run(&self, stderr: Stdio) -> std::process::Child {
        self.cogcheck(&[
            "run",
            "--no-progress",
            "--jobs",
            "4",
            "--results",
            "/dev/null",
        ])
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("cogcheck runs")
    }

    /// `cogcheck ARGS` against this moto, as a user passes real AWS.
    fn cogcheck(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cogcheck"));
        c.args(args)
            .args(["--endpoint", &self.endpoint()])
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing");
        c
    }
}

#[test]
fn ctrl_c_during_a_remote_run_deletes_the_runs_pools() {
    let mut remote = Remote::start();
    let child = remote.start_run(Stdio::piped());
    let ours = |remote: &Remote| {
        remote
            .pool_names()
            .iter()
            .filter(|n| n.starts_with("cogcheck-"))
            .count()
    };
    // Interrupt once the run has pools in flight, so there is something to delete.
    let deadline = Instant::now() + Duration::from_secs(60);
    while ours(&remote) == 0 {
        assert!(Instant::now() < deadline, "the run never created a pool");
        std::thread::sleep(Duration::from_millis(100));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("signals our own child");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("deleting the user pools of run"),
        "{stderr}"
    );
    // Scenario tasks still in flight may finish a create after the sweep's listing; the sweep
    // runs after the runtime stops scheduling them, so nothing of the run may remain.
    assert_eq!(ours(&remote), 0, "pools left behind; stderr: {stderr}");
    remote.moto.stop().unwrap();
}

/// A run killed with SIGKILL cannot clean up after itself; what it leaves, `cogcheck sweep
/// --prefix <its run prefix>` removes completely (every pool of that run, nothing else).
#[test]
fn pools_left_by_a_killed_run_are_removed_by_sweep() {
    let mut remote = Remote::start();
    // A pool of someone else's, which the sweep must leave alone.
    remote
        .runtime
        .block_on(remote.client.call(
            "CreateUserPool",
            &serde_json::json!({"PoolName": "cogcheck-other-team-pool"}),
        ))
        .unwrap();

    let mut child = remote.start_run(Stdio::null());
    let deadline = Instant::now() + Duration::from_secs(60);
    let run_pools = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .filter(|n| n.starts_with("cogcheck-") && *n != "cogcheck-other-team-pool")
            .cloned()
            .collect()
    };
    while run_pools(&remote.pool_names()).len() < 2 {
        assert!(Instant::now() < deadline, "the run never created pools");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL: no handler runs.
    child.wait().unwrap();
    let left = run_pools(&remote.pool_names());
    assert!(!left.is_empty(), "a killed run leaves its pools");
    // Pool names start with the run's prefix: `cogcheck-` and six hex digits.
    let prefix = left[0].get(..15).expect("a run prefix").to_string();
    assert!(left.iter().all(|n| n.starts_with(&prefix)), "{left:?}");

    let out = remote
        .cogcheck(&["sweep", "--prefix", &prefix])
        .output()
        .expect("cogcheck sweep runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = remote.pool_names();
    assert!(
        !after.iter().any(|n| n.starts_with(&prefix)),
        "sweep left pools of the run: {after:?}"
    );
    assert!(
        after.iter().any(|n| n == "cogcheck-other-team-pool"),
        "{after:?}"
    );
    remote.moto.stop().unwrap();
}

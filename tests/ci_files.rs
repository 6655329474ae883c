//! The CI files torture ships: `action.yml` (the GitHub Action),
//! `harness/ci/github-actions.yml` and `harness/ci/gitlab-ci.yml`. They
//! validate against their published schemas (check-jsonschema's vendored
//! copies, which `.ci/run` installs), a broken copy does not, their
//! `torture run` commands use flags the binary has, and the action's
//! scripts install, gate and keep the evidence under a stand-in runner.

mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use util::TestDir;
use yaml_rust2::{Yaml, YamlLoader};

/// Each file, the check-jsonschema schema it must satisfy, and a change
/// that breaks it (a text in the file, and what replaces it).
const FILES: [(&str, &str, (&str, &str)); 3] = [
    (
        "action.yml",
        "vendor.github-actions",
        ("using: composite", "using: compost"),
    ),
    (
        "harness/ci/github-actions.yml",
        "vendor.github-workflows",
        ("runs-on:", "runs-onn:"),
    ),
    (
        "harness/ci/gitlab-ci.yml",
        "vendor.gitlab-ci",
        ("when: always", "when: sometimes"),
    ),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(file: &str) -> Yaml {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .remove(0)
}

/// check-jsonschema from PATH. In CI (`CI` set, as `.ci/run` runs) a
/// missing checker fails the test; elsewhere the test says it skipped.
fn checker() -> Option<PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("check-jsonschema"))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "check-jsonschema is not on PATH: .ci/run installs it (pip install check-jsonschema)"
        );
        eprintln!("skipped: check-jsonschema is not on PATH (pip install check-jsonschema)");
    }
    found
}

fn validate(checker: &Path, schema: &str, file: &Path) -> Output {
    Command::new(checker)
        .args(["--builtin-schema", schema])
        .arg(file)
        .output()
        .unwrap()
}

fn describe(out: &Output) -> String {
    format!(
        "status: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn ci_files_match_their_published_schemas() {
    let Some(checker) = checker() else { return };
    for (file, schema, _) in FILES {
        let out = validate(&checker, schema, &root().join(file));
        assert!(out.status.success(), "{file}\n{}", describe(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("ok -- validation done"),
            "{file}\n{}",
            describe(&out)
        );
    }
}

/// The check can fail: a copy with one key or value broken does not pass.
#[test]
fn a_broken_ci_file_fails_its_schema() {
    let Some(checker) = checker() else { return };
    let t = TestDir::new();
    for (file, schema, (good, bad)) in FILES {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        assert!(text.contains(good), "{file} no longer has {good:?}");
        let copy = t.join(Path::new(file).file_name().unwrap().to_str().unwrap());
        std::fs::write(&copy, text.replacen(good, bad, 1)).unwrap();
        let out = validate(&checker, schema, &copy);
        assert_eq!(out.status.code(), Some(1), "{file}\n{}", describe(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Schema validation errors"),
            "{file}\n{}",
            describe(&out)
        );
    }
}

/// Every shell script of a file: the action's and the workflow's step
/// `run`s, the GitLab job's `script` lines.
fn scripts(file: &str) -> Vec<String> {
    let doc = yaml(file);
    let steps: Vec<&Yaml> = match file {
        "action.yml" => doc["runs"]["steps"].as_vec().unwrap().iter().collect(),
        "harness/ci/github-actions.yml" => doc["jobs"]
            .as_hash()
            .unwrap()
            .values()
            .flat_map(|job| job["steps"].as_vec().unwrap())
            .collect(),
        _ => {
            let lines = doc["torture"]["script"].as_vec().unwrap();
            return lines.iter().map(|l| l.as_str().unwrap().into()).collect();
        }
    };
    steps
        .iter()
        .filter_map(|s| s["run"].as_str().map(String::from))
        .collect()
}

/// The long flags after `torture run` in each such command of a script
/// (lines joined at a trailing backslash).
fn torture_run_flags(script: &str) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    let mut commands = Vec::new();
    for line in joined.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = words
            .windows(2)
            .position(|w| w[0].trim_matches('"').ends_with("torture") && w[1] == "run")
        else {
            continue;
        };
        let flags = words[at + 2..]
            .iter()
            .filter_map(|w| {
                let w = w.trim_start_matches(|c| c != '-');
                let name: String = w
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                (name.starts_with("--") && name.len() > 2).then_some(name)
            })
            .collect();
        commands.push(flags);
    }
    commands
}

/// The action's and the GitLab job's `torture run` commands use flags
/// that `torture run --help` lists; the workflow gives the action only
/// inputs it has, and all it requires; nothing installs torture from a
/// registry it is not on.
#[test]
fn the_ci_files_use_options_that_exist() {
    let help = util::TestDir::new().run(&["run", "--help"]);
    help.expect_code(0);
    let help = help.stdout();
    for file in ["action.yml", "harness/ci/gitlab-ci.yml"] {
        let commands: Vec<Vec<String>> = scripts(file)
            .iter()
            .flat_map(|s| torture_run_flags(s))
            .collect();
        assert!(!commands.is_empty(), "{file}: no `torture run` command");
        for flag in commands.iter().flatten() {
            assert!(
                help.contains(&format!("{flag} ")),
                "{file}: `torture run {flag}` is not in `torture run --help`:\n{help}"
            );
        }
        assert!(
            commands.iter().any(|c| c.iter().any(|f| f == "--junit")),
            "{file}: {commands:?}"
        );
    }
    for file in FILES.map(|f| f.0) {
        let all = scripts(file).join("\n");
        let installs: Vec<&str> = all
            .lines()
            .filter(|l| l.contains("cargo install"))
            .collect();
        for line in &installs {
            assert!(
                line.contains("--path") && line.contains("--locked"),
                "{file}: torture is not on crates.io: {line}"
            );
        }
        // The workflow installs through the action.
        assert_eq!(
            installs.is_empty(),
            file.ends_with("github-actions.yml"),
            "{file}"
        );
    }

    let action = yaml("action.yml");
    let inputs = action["inputs"].as_hash().unwrap();
    let workflow = yaml("harness/ci/github-actions.yml");
    let uses_action: Vec<&Yaml> = workflow["jobs"]
        .as_hash()
        .unwrap()
        .values()
        .flat_map(|job| job["steps"].as_vec().unwrap())
        .filter(|s| s["uses"].as_str() == Some("./.torture"))
        .collect();
    assert_eq!(uses_action.len(), 1, "the workflow uses the action once");
    let given = uses_action[0]["with"].as_hash().unwrap();
    for key in given.keys() {
        let key = key.as_str().unwrap();
        assert!(
            inputs.contains_key(&Yaml::String(key.into())),
            "the workflow gives the action `{key}`, which it does not take"
        );
    }
    for (name, input) in inputs {
        if input["required"].as_bool() == Some(true) {
            assert!(given.contains_key(name), "{name:?} is required");
        }
    }
}

/// The script of the action's step `id`.
fn action_step(id: &str) -> String {
    let action = yaml("action.yml");
    let steps = action["runs"]["steps"].as_vec().unwrap();
    let step = steps.iter().find(|s| s["id"].as_str() == Some(id)).unwrap();
    assert_eq!(step["shell"].as_str(), Some("bash"));
    step["run"].as_str().unwrap().into()
}

/// A stand-in for a GitHub runner: its temporary directory, its output,
/// path and summary files.
struct Runner {
    t: TestDir,
}

impl Runner {
    fn new() -> Runner {
        let t = TestDir::new();
        std::fs::create_dir(t.join("temp")).unwrap();
        std::fs::create_dir(t.join("ws")).unwrap();
        Runner { t }
    }

    /// Runs `script` as GitHub runs a `shell: bash` step, in the workspace,
    /// with `env` (the step's `env:`, its inputs filled in).
    fn step(&self, script: &str, env: &[(&str, &str)], path: Option<&Path>) -> Output {
        let file = self.t.join("step.sh");
        std::fs::write(&file, script).unwrap();
        let mut c = Command::new("bash");
        c.args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&file)
            .current_dir(self.t.join("ws"))
            .env("RUNNER_TEMP", self.t.join("temp"))
            .env("GITHUB_OUTPUT", self.t.join("output"))
            .env("GITHUB_PATH", self.t.join("path"))
            .env("GITHUB_STEP_SUMMARY", self.t.join("summary.md"))
            .env("GITHUB_ACTION_PATH", root())
            .envs(env.iter().copied());
        if let Some(dir) = path {
            let inherited = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![dir.to_path_buf()];
            dirs.extend(std::env::split_paths(&inherited));
            c.env("PATH", std::env::join_paths(dirs).unwrap());
        }
        c.output().unwrap()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.t.join(name)).unwrap_or_default()
    }
}

/// The install step builds from the action's own checkout into the
/// runner's temporary directory and puts it on PATH (a stand-in `cargo`
/// records the call and installs the binary under test); a second use in
/// the same job does not build again.
#[test]
fn the_action_installs_torture_from_its_own_checkout() {
    let r = Runner::new();
    let fake = r.t.join("fake-bin");
    std::fs::create_dir(&fake).unwrap();
    let cargo = format!(
        "#!/bin/sh\necho \"$*\" >> {calls}\nroot=$6\nmkdir -p \"$root/bin\"\nln -s {bin} \"$root/bin/torture\"\n",
        calls = r.t.join("calls").display(),
        bin = util::bin().display()
    );
    std::fs::write(fake.join("cargo"), cargo).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(fake.join("cargo"), std::fs::Permissions::from_mode(0o755)).unwrap();

    let script = action_step("install");
    for _ in 0..2 {
        let out = r.step(&script, &[("TOOLCHAIN", "")], Some(&fake));
        assert!(out.status.success(), "{}", describe(&out));
    }
    let root_dir = r.t.join("temp/torture");
    assert_eq!(
        r.read("calls"),
        format!(
            "install --locked --path {} --root {}\n",
            root().display(),
            root_dir.display()
        )
    );
    let bin_dir = root_dir.join("bin").display().to_string();
    assert_eq!(
        r.read("path").lines().collect::<Vec<_>>(),
        [&bin_dir, &bin_dir]
    );
}

/// The run step: the scenarios' verdict as the step's exit code and
/// outputs, the JUnit and JSON files and the failed runs' directories in
/// the evidence, the table in the step summary; a partition runs its slice.
#[test]
fn the_action_gates_on_the_scenarios_and_keeps_the_evidence() {
    let r = Runner::new();
    let bin_dir = r.t.join("temp/torture/bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::os::unix::fs::symlink(util::bin(), bin_dir.join("torture")).unwrap();
    // A program that acknowledges and keeps nothing: `lost` every time.
    let lose = "exec = 'true'\ncheck = 'cat \"$TORTURE_STATE\" 2>/dev/null || true'\n\
                writers = 1\nreaders = 0\nkill_rate = 0\nops = 5\n";
    std::fs::create_dir(r.t.join("ws/sc")).unwrap();
    std::fs::write(
        r.t.join("ws/sc/a-lose.toml"),
        format!("{lose}expect = [\"lost\"]\n"),
    )
    .unwrap();
    std::fs::write(
        r.t.join("ws/sc/b-wrong.toml"),
        format!("{lose}expect = \"pass\"\n"),
    )
    .unwrap();

    let script = action_step("run");
    let env = |partition| {
        [
            ("SCENARIOS", "sc/*.toml"),
            ("PARTITION", partition),
            ("ARGS", "--seed 7"),
            ("JUNIT", "out/j.xml"),
            ("JSON", "r.json"),
        ]
    };
    let out = r.step(&script, &env(""), None);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let ws = r.t.join("ws");
    let (junit, json) = (ws.join("out/j.xml"), ws.join("r.json"));
    assert_eq!(
        r.read("output"),
        format!(
            "exit-code=1\nverdict=fail\njunit={}\njson={}\n",
            junit.display(),
            json.display()
        )
    );
    let evidence = r.t.join("temp/torture-evidence");
    for f in [&junit, &json] {
        let kept = evidence.join(f.file_name().unwrap());
        assert_eq!(std::fs::read(&kept).unwrap(), std::fs::read(f).unwrap());
    }
    let report = util::read_json(&json);
    assert_eq!(report["scenarios"][1]["report"]["config"]["seed"], 7);
    let runs: Vec<_> = std::fs::read_dir(evidence.join("runs")).unwrap().collect();
    assert!(!runs.is_empty(), "the failed run's directory is kept");
    let summary = r.read("summary.md");
    assert!(
        summary.contains("b-wrong") && summary.contains("lost=6"),
        "{summary}"
    );

    // The first slice of two holds a-lose only, which meets its expectation.
    std::fs::remove_file(r.t.join("output")).unwrap();
    let out = r.step(&script, &env("1/2"), None);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(r.read("output").starts_with("exit-code=0\nverdict=pass\n"));
    assert_eq!(
        util::read_json(&json)["scenarios"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

//! A project's smoke test, as the corpus's verify.py runs it: the image
//! runs with no network; a client container (python:3-slim, one of the
//! project base images) joins its network namespace and talks to
//! 127.0.0.1. Nothing leaves the machine.

use std::process::{Command, Output};
use std::time::Duration;

use super::manifest::{Smoke, SmokeKind};
use super::tracked::Tracked;

const CLIENT: &str = "python:3-slim";

/// `Ok(what was seen)` when the image answers as expected.
pub fn smoke(smoke: &Smoke, image: &str, tracked: &mut Tracked) -> Result<String, String> {
    match smoke.kind {
        SmokeKind::Run => {
            let name = tracked.container_name("smoke-run");
            let out = docker_bounded(&[
                "run",
                "--name",
                &name,
                "--label",
                &tracked.label(),
                "--network",
                "none",
                image,
            ]);
            let _ = docker(&["rm", "-f", &name]);
            let seen = text(&out);
            expect(smoke, out.status.success(), seen)
        }
        SmokeKind::Http | SmokeKind::Tcp => server(smoke, image, tracked),
    }
}

fn server(smoke: &Smoke, image: &str, tracked: &mut Tracked) -> Result<String, String> {
    let name = tracked.container_name("smoke-server");
    let started = docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--label",
        &tracked.label(),
        "--network",
        "none",
        image,
    ]);
    if !started.status.success() {
        let _ = docker(&["rm", "-f", &name]);
        return Err(format!("the server did not start: {}", text(&started)));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let port = smoke.port.unwrap_or(80);
    let code = match smoke.kind {
        SmokeKind::Http => format!(
            "import urllib.request,sys,time\n\
             for i in range(20):\n  try:\n    r=urllib.request.urlopen('http://127.0.0.1:{port}{path}',timeout=5); print(r.status); sys.stdout.write(r.read(400).decode('utf-8','replace')); break\n  except Exception as e:\n    err=e; time.sleep(0.5)\n\
             else:\n  print('ERROR', err); sys.exit(1)\n",
            path = smoke.path.as_deref().unwrap_or("/"),
        ),
        _ => format!(
            "import socket,sys,time\n\
             for i in range(20):\n  try:\n    c=socket.create_connection(('127.0.0.1',{port}),timeout=5); break\n  except Exception as e:\n    err=e; time.sleep(0.5)\n\
             else:\n  print('ERROR', err); sys.exit(1)\n\
             c.sendall({send:?}.encode()); print(c.recv(400).decode().strip())\n",
            send = smoke.send.as_deref().unwrap_or(""),
        ),
    };
    let client = tracked.container_name("smoke-client");
    let network = format!("container:{name}");
    let out = docker_bounded(&[
        "run",
        "--name",
        &client,
        "--label",
        &tracked.label(),
        "--network",
        &network,
        CLIENT,
        "python3",
        "-c",
        &code,
    ]);
    let logs = text(&docker(&["logs", &name]));
    let _ = docker(&["rm", "-f", &client, &name]);
    expect(smoke, out.status.success(), text(&out))
        .map_err(|e| format!("{e}; server log: {}", first(&logs, 300)))
}

fn expect(smoke: &Smoke, ran: bool, seen: String) -> Result<String, String> {
    if ran && seen.contains(&smoke.expect) {
        Ok(first(&seen, 120))
    } else {
        Err(format!(
            "expected {:?}, got: {}",
            smoke.expect,
            first(&seen, 400)
        ))
    }
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("run docker")
}

/// A `docker run` that cannot hang the suite: stopped after two minutes.
fn docker_bounded(args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("120")
        .arg("docker")
        .args(args)
        .output()
        .expect("run timeout docker")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
    .trim()
    .to_owned()
}

fn first(text: &str, chars: usize) -> String {
    let line = text.replace('\n', " / ");
    line.chars().take(chars).collect()
}

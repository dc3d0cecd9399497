//! `api healthcheck` (and the worker's and scheduler's): the container health check of our own
//! image. The image is debian-slim without curl or wget, so the binary probes itself: one
//! HTTP/1.1 GET over loopback to the port the running process listens on, healthy on a 2xx.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longer than any answer of a live process, shorter than compose's `timeout`.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Where to reach a server bound to `bind` from inside its own container: a wildcard bind
/// (`0.0.0.0`, `::`) answers on loopback.
pub fn local(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// GETs `path` on `addr`; `Ok` with the status line on a 2xx, `Err` saying why otherwise.
pub async fn probe(addr: SocketAddr, path: &str) -> Result<String, String> {
    tokio::time::timeout(TIMEOUT, get(addr, path))
        .await
        .map_err(|_| format!("no answer from {addr} within {TIMEOUT:?}"))?
}

async fn get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nUser-Agent: healthcheck\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("cannot send to {addr}: {e}"))?;
    // The status line is all we need; 512 bytes hold it with room to spare.
    let mut head = vec![0u8; 512];
    let mut read = 0;
    while read < head.len() && !head[..read].contains(&b'\n') {
        let n = stream
            .read(&mut head[read..])
            .await
            .map_err(|e| format!("cannot read from {addr}: {e}"))?;
        if n == 0 {
            break;
        }
        read += n;
    }
    let text = String::from_utf8_lossy(&head[..read]);
    let status_line = text.lines().next().unwrap_or_default().trim().to_string();
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("not an HTTP answer from {addr}{path}: {status_line:?}"))?;
    if (200..300).contains(&status) {
        Ok(status_line)
    } else {
        Err(format!("{addr}{path} answered {status_line}"))
    }
}

/// Runs the probe and turns it into the exit code Docker reads (0 healthy, 1 not), printing
/// the outcome for `docker inspect`.
pub async fn exit_code(bind: SocketAddr, path: &str) -> i32 {
    match probe(local(bind), path).await {
        Ok(status) => {
            println!("{status}");
            0
        }
        Err(why) => {
            eprintln!("unhealthy: {why}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A one-shot server answering `response` to the first request.
    async fn answer(response: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut buf = [0u8; 1024];
            let n = socket.read(&mut buf).await.expect("read");
            assert!(buf[..n].starts_with(b"GET /health/ready HTTP/1.1\r\n"));
            socket.write_all(response.as_bytes()).await.expect("write");
        });
        addr
    }

    #[tokio::test]
    async fn a_2xx_answer_is_healthy() {
        let addr = answer("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await;
        assert_eq!(
            probe(addr, "/health/ready").await,
            Ok("HTTP/1.1 200 OK".into())
        );
    }

    #[tokio::test]
    async fn a_503_is_unhealthy_and_says_so() {
        let addr = answer("HTTP/1.1 503 Service Unavailable\r\n\r\n").await;
        let err = probe(addr, "/health/ready").await.expect_err("503");
        assert!(err.contains("503"), "{err}");
    }

    #[tokio::test]
    async fn garbage_and_a_closed_port_are_unhealthy() {
        let addr = answer("SSH-2.0-OpenSSH\r\n").await;
        assert!(probe(addr, "/health/ready").await.is_err());
        let closed = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind")
            .local_addr()
            .expect("addr");
        // Dropped above: nothing listens there now.
        let err = probe(closed, "/health/ready").await.expect_err("closed");
        assert!(err.contains("cannot connect"), "{err}");
    }

    #[test]
    fn a_wildcard_bind_is_probed_on_loopback() {
        assert_eq!(
            local("0.0.0.0:8080".parse().expect("addr")),
            "127.0.0.1:8080".parse().expect("addr")
        );
        assert_eq!(
            local("[::]:9100".parse().expect("addr")),
            "[::1]:9100".parse().expect("addr")
        );
        assert_eq!(
            local("10.0.0.5:80".parse().expect("addr")),
            "10.0.0.5:80".parse().expect("addr")
        );
    }
}

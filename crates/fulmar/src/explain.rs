//! `fulmar explain --from IP --to IP --traffic tcp/22`: asks a running `fulmar serve`
//! (`GET /_fulmar/explain`) whether the security groups of both ends let the flow
//! through, and prints the answer in plain words.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::Context;
use clap::Args;

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The source address of the flow (an instance's private IP, a load balancer's address, any client).
    #[arg(long)]
    pub from: IpAddr,
    /// The destination address of the flow.
    #[arg(long)]
    pub to: IpAddr,
    /// What flows: `tcp/22`, `udp/53`, `icmp/8/0`, `all`.
    #[arg(long, default_value = "tcp/22")]
    pub traffic: String,
    /// The API address of the running `fulmar serve`.
    #[arg(long, default_value = "127.0.0.1:4566")]
    pub api_addr: SocketAddr,
}

pub fn run(args: ExplainArgs) -> anyhow::Result<()> {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("from", &args.from.to_string())
        .append_pair("to", &args.to.to_string())
        .append_pair("traffic", &args.traffic)
        .finish();
    let mut stream = TcpStream::connect_timeout(&args.api_addr, Duration::from_secs(5))
        .with_context(|| format!("connecting to fulmar serve at {}", args.api_addr))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET /_fulmar/explain?{query} HTTP/1.0\r\nHost: {}\r\n\r\n",
        args.api_addr
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    print!("{body}");
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        anyhow::bail!("fulmar serve answered: {}", head.lines().next().unwrap_or(""));
    }
    Ok(())
}

"""`fulmar demo` as a new user runs it: start it, copy the first curl command it
prints, run it, and get an answer from one of the sample backends."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time

from support import free_dns_port, free_port, fulmar_binary


def test_demo_prints_a_curl_command_that_works(tmp_path):
    api, dns = free_port(), free_dns_port()
    proc = subprocess.Popen(
        [str(fulmar_binary()), "demo", "--api-addr", f"127.0.0.1:{api}",
         "--dns-addr", f"127.0.0.1:{dns}", "--lb-address-pool", "127.99.7.0/24",
         "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        command = None
        deadline = time.time() + 60
        while time.time() < deadline and command is None:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.match(r"\s+(curl -s http://[0-9.]+:\d+/)\s*$", line)
            if m:
                command = m.group(1)
        assert command, "fulmar demo printed no curl command"
        curl = shutil.which("curl")
        assert curl, "curl is needed"
        seen = set()
        for _ in range(4):
            out = subprocess.run(command.replace("curl", curl, 1).split(), capture_output=True,
                                 text=True, timeout=10)
            seen.add(out.stdout.strip())
        assert seen == {"hello from A", "hello from B"}
        metrics = subprocess.run([curl, "-s", f"http://127.0.0.1:{api}/metrics"], capture_output=True,
                                 text=True, timeout=10).stdout
        assert re.search(r'^RequestCount\{LoadBalancer="app/demo-[^"]+"\} 4$', metrics, re.M), metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)

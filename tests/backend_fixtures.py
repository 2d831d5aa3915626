"""Real servers on 127.0.0.1 for the backend tests: `hrmcode serve` in a subprocess, our app under
uvicorn in a thread, and a scripted OpenAI-compatible server whose answers a test decides."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import uvicorn

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, timeout: float = 120.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


class ServeProcess:
    """``python -m hrmcode serve RUN_DIR --port P`` as a real subprocess."""

    def __init__(self, run_dir: Path, *extra: str, log: Path | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.log = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "hrmcode", "serve", str(run_dir), "--port",
                                      str(self.port), *extra], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(f"http://127.0.0.1:{self.port}/health", proc=self.proc)
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log is not subprocess.DEVNULL:
            self.log.close()


class ThreadedApp:
    """An ASGI app under uvicorn in a thread of the test process (real HTTP on 127.0.0.1)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_healthy(f"http://127.0.0.1:{self.port}/health")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def completion_body(text: str, *, chat: bool, model: str = "m", prompt_tokens: int = 3) -> dict[str, Any]:
    choice: dict[str, Any] = ({"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                              if chat else {"index": 0, "text": text, "finish_reason": "stop", "logprobs": None})
    return {"id": "x", "object": "chat.completion" if chat else "text_completion", "created": 0, "model": model,
            "choices": [choice], "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split()),
                                           "total_tokens": prompt_tokens + len(text.split())}}


class ScriptedServer:
    """An OpenAI-compatible server whose every answer comes from ``script(path, body) -> Reply``.

    Records each request (path, JSON body, headers) and the most requests in flight at once.
    ``/v1/models`` lists ``models`` (owned by ``owned_by``) unless the script answers it.
    """

    def __init__(self, script: Callable[[str, dict[str, Any]], Reply], *, models: tuple[str, ...] = ("m",),
                 owned_by: str = "someone") -> None:
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, reply: Reply) -> None:
                data = json.dumps(reply.body or {}).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.endswith("/models"):
                    self._send(Reply(body={"object": "list", "data": [
                        {"id": m, "object": "model", "created": 0, "owned_by": owned_by} for m in models]}))
                else:
                    self._send(Reply(404, {"error": {"message": "no such path"}}))

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with lock:
                    outer.requests.append((self.path, body, dict(self.headers)))
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    reply = script(self.path, body)
                    if reply.delay:
                        time.sleep(reply.delay)
                    self._send(reply)
                finally:
                    with lock:
                        outer.in_flight -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def train_tiny_run(root: Path) -> Path:
    """A real (very small) HRM trained for a few steps on a real built-in suite: root/{data,hrm}."""
    from train_fixtures import tiny_config

    from hrmcode.benchmarks.builtin.generate import build
    from hrmcode.data.batching import load_tasks
    from hrmcode.train.trainer import train

    build(0, 120, root / "data")
    tasks = load_tasks(root / "data" / "tasks.jsonl")
    cfg = tiny_config(steps=4, eval_every=4, ckpt_every=4, model={"max_seq_len": 640},
                      data={"languages": ["python", "javascript"]})
    train(cfg, root / "hrm", tasks=tasks, progress=False)
    return root / "hrm"

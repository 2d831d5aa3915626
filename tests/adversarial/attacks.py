"""Hostile candidates, per language, with the verdicts they may get and what the host must not see.

Every attack is a solution of the task ``attack(n: int) -> int`` whose one test expects 0: an
attack that is contained either fails with a verdict (timeout, memory_limit, ...) or returns 0
after its attempt came to nothing. ``{TOKEN}``, ``{SECRET}``, ``{PORT}`` and ``{MARK}`` are filled
in by the test: the planted secret's path, the loopback server's port and a path prefix on the host
that must never appear (files or processes named with the token).
"""

from __future__ import annotations

from dataclasses import dataclass

from hrmcode.records import Task

TASK = Task(task_id="attack", prompt="Return 0.", tests=[{"input": [1], "output": 0}],
            signature={"name": "attack", "params": [{"name": "n", "type": "int"}], "returns": "int"})


@dataclass(frozen=True)
class Attack:
    name: str
    language: str
    code: str
    verdicts: frozenset[str]  # acceptable verdicts


def _a(name: str, language: str, code: str, *verdicts: str) -> Attack:
    return Attack(name, language, code, frozenset(verdicts))


GOOD = {
    "python": "def attack(n):\n    return n - 1\n",
    "cpp": "long long attack(long long n) { return n - 1; }\n",
    "go": "func attack(n int) int {\n\treturn n - 1\n}\n",
    "rust": "fn attack(n: i64) -> i64 {\n    n - 1\n}\n",
    "javascript": "function attack(n) { return n - 1; }\n",
    "java": "static long attack(long n) { return n - 1; }\n",
}

# Files an attack tries to create outside its workdir (the host must not get them).
OUTSIDE = ("/tmp/{TOKEN}-out", "/var/tmp/{TOKEN}-out", "{SECRET_DIR}/{TOKEN}-out", "/dev/shm/{TOKEN}-out")

PY = [
    _a("fork_bomb", "python", "import os\ndef attack(n):\n    while True:\n        try:\n            os.fork()\n"
       "        except OSError:\n            pass\n", "sandbox_violation", "timeout"),
    _a("memory_bomb", "python", "def attack(n):\n    a = []\n    while True:\n        a.append(bytearray(1 << 24))\n",
       "memory_limit"),
    _a("infinite_loop", "python", "def attack(n):\n    while True:\n        pass\n", "timeout"),
    _a("disk_fill", "python", "def attack(n):\n    with open('/tmp/{TOKEN}-fill', 'wb') as f:\n        while True:\n"
       "            f.write(b'x' * (1 << 20))\n", "runtime_error", "sandbox_violation"),
    _a("network", "python", "import socket\ndef attack(n):\n    try:\n"
       "        socket.create_connection(('127.0.0.1', {PORT}), timeout=1).sendall(b'{TOKEN}')\n        return 1\n"
       "    except OSError:\n        return 0\n", "pass"),
    _a("write_outside", "python", "def attack(n):\n    for p in {OUTSIDE_LIST}:\n        try:\n"
       "            open(p, 'w').write('pwned')\n        except OSError:\n            pass\n    return 0\n", "pass"),
    _a("read_secret", "python", "def attack(n):\n    try:\n        s = open('{SECRET}').read()\n    except OSError:\n"
       "        return 0\n    print(s)\n    raise RuntimeError(s)\n", "pass"),
    _a("background_child", "python", "import subprocess\ndef attack(n):\n"
       "    subprocess.Popen(['/bin/sh', '-c', 'sleep 60; echo {TOKEN}'], start_new_session=True,\n"
       "                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n    return 0\n", "pass"),
    # Killed by the harness (not exiting by itself) with a child in a session of its own: nothing of
    # the jail may outlive the verdict (a killed bubblewrap used to tear its namespace down later).
    _a("orphan_on_timeout", "python", "import subprocess\ndef attack(n):\n"
       "    subprocess.Popen(['/bin/sh', '-c', 'sleep 60; echo {TOKEN}'], start_new_session=True,\n"
       "                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n    while True:\n        pass\n", "timeout"),
    # 100 MB in 1 MB writes, as the other languages' floods: one 100 MB string costs ~200 MB of page
    # faults first (the string and its encoding), seconds on a VM whose free memory has gone cold.
    _a("output_flood", "python", "import sys\ndef attack(n):\n    s = 'x' * (1 << 20)\n    for _ in range(100):\n"
       "        sys.stdout.write(s)\n    return 0\n", "output_limit"),
    _a("kill_parent", "python", "import os, signal\ndef attack(n):\n    for pid in (os.getppid(), -1):\n        try:\n"
       "            os.kill(pid, signal.SIGKILL)\n        except OSError:\n            pass\n    return 0\n",
       "pass", "runtime_error"),
]

CPP = [
    _a("fork_bomb", "cpp", "long long attack(long long n) { while (true) fork(); }\n", "sandbox_violation", "timeout"),
    _a("network", "cpp", "#include <arpa/inet.h>\n#include <sys/socket.h>\nlong long attack(long long n) {\n"
       "    int s = socket(AF_INET, SOCK_STREAM, 0);\n    sockaddr_in a{};\n    a.sin_family = AF_INET;\n"
       "    a.sin_port = htons({PORT});\n    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);\n"
       "    return s >= 0 && connect(s, (sockaddr*)&a, sizeof a) == 0 ? 1 : 0;\n}\n", "pass"),
    _a("read_secret", "cpp", "#include <fstream>\nlong long attack(long long n) {\n    std::ifstream f(\"{SECRET}\");\n"
       "    std::string s;\n    if (!(f >> s)) return 0;\n    std::cout << s << std::endl;\n"
       "    throw std::runtime_error(s);\n}\n", "pass"),
    _a("background_child", "cpp", "long long attack(long long n) {\n    if (fork() == 0) {\n        setsid();\n"
       "        execl(\"/bin/sh\", \"sh\", \"-c\", \"sleep 60; echo {TOKEN}\", (char*)nullptr);\n        _exit(0);\n    }\n"
       "    return 0;\n}\n", "pass"),
    _a("output_flood", "cpp", "long long attack(long long n) {\n    std::string s(1 << 20, 'x');\n"
       "    for (int i = 0; i < 100; i++) fwrite(s.data(), 1, s.size(), stdout);\n    return 0;\n}\n", "output_limit"),
    _a("kill_parent", "cpp", "#include <csignal>\nlong long attack(long long n) {\n    kill(getppid(), SIGKILL);\n"
       "    kill(-1, SIGKILL);\n    return 0;\n}\n", "pass", "runtime_error"),
]

GO = [
    _a("network", "go", "import \"net\"\n\nfunc attack(n int) int {\n\tc, err := net.Dial(\"tcp\", \"127.0.0.1:{PORT}\")\n"
       "\tif err != nil {\n\t\treturn 0\n\t}\n\tc.Close()\n\treturn 1\n}\n", "pass"),
    _a("read_secret", "go", "import \"os\"\n\nfunc attack(n int) int {\n\tb, err := os.ReadFile(\"{SECRET}\")\n"
       "\tif err != nil {\n\t\treturn 0\n\t}\n\tpanic(string(b))\n}\n", "pass"),
    _a("write_outside", "go", "import \"os\"\n\nfunc attack(n int) int {\n\tfor _, p := range []string{OUTSIDE_GO} {\n"
       "\t\tos.WriteFile(p, []byte(\"pwned\"), 0o644)\n\t}\n\treturn 0\n}\n", "pass"),
    _a("background_child", "go", "import \"os/exec\"\n\nfunc attack(n int) int {\n"
       "\texec.Command(\"/bin/sh\", \"-c\", \"sleep 60; echo {TOKEN}\").Start()\n\treturn 0\n}\n", "pass"),
    _a("output_flood", "go", "import \"os\"\n\nfunc attack(n int) int {\n\tb := make([]byte, 1<<20)\n"
       "\tfor i := 0; i < 100; i++ {\n\t\tos.Stdout.Write(b)\n\t}\n\treturn 0\n}\n", "output_limit"),
]

RUST = [
    _a("network", "rust", "fn attack(n: i64) -> i64 {\n"
       "    if std::net::TcpStream::connect(\"127.0.0.1:{PORT}\").is_ok() { 1 } else { 0 }\n}\n", "pass"),
    _a("read_secret", "rust", "fn attack(n: i64) -> i64 {\n    match std::fs::read_to_string(\"{SECRET}\") {\n"
       "        Ok(s) => panic!(\"{}\", s),\n        Err(_) => 0,\n    }\n}\n", "pass"),
    _a("background_child", "rust", "fn attack(n: i64) -> i64 {\n"
       "    let _ = std::process::Command::new(\"/bin/sh\").arg(\"-c\").arg(\"sleep 60; echo {TOKEN}\").spawn();\n"
       "    0\n}\n", "pass"),
    _a("output_flood", "rust", "use std::io::Write;\nfn attack(n: i64) -> i64 {\n    let b = vec![b'x'; 1 << 20];\n"
       "    for _ in 0..100 {\n        let _ = std::io::stdout().write_all(&b);\n    }\n    0\n}\n", "output_limit"),
]

JS = [
    _a("read_secret", "javascript", "function attack(n) {\n  let s;\n"
       "  try { s = require('fs').readFileSync('{SECRET}', 'utf8'); } catch (e) { return 0; }\n"
       "  console.log(s);\n  throw new Error(s);\n}\n", "pass"),
    _a("write_outside", "javascript", "function attack(n) {\n  for (const p of {OUTSIDE_LIST}) {\n"
       "    try { require('fs').writeFileSync(p, 'pwned'); } catch (e) {}\n  }\n  return 0;\n}\n", "pass"),
    _a("background_child", "javascript", "function attack(n) {\n"
       "  const c = require('child_process').spawn('/bin/sh', ['-c', 'sleep 60; echo {TOKEN}'],\n"
       "    { detached: true, stdio: 'ignore' });\n  c.unref();\n  return 0;\n}\n", "pass"),
    _a("output_flood", "javascript", "function attack(n) {\n  const b = Buffer.alloc(1 << 20, 120);\n"
       "  for (let i = 0; i < 100; i++) require('fs').writeSync(1, b);\n  return 0;\n}\n", "output_limit"),
    _a("kill_parent", "javascript", "function attack(n) {\n  try { process.kill(process.ppid, 'SIGKILL'); } catch (e) {}\n"
       "  return 0;\n}\n", "pass", "runtime_error"),
]

JAVA = [
    _a("network", "java", "static long attack(long n) {\n    try (java.net.Socket s = new java.net.Socket(\"127.0.0.1\", {PORT})) {\n"
       "        return 1;\n    } catch (Exception e) {\n        return 0;\n    }\n}\n", "pass"),
    _a("read_secret", "java", "static long attack(long n) {\n    String s;\n"
       "    try { s = new String(java.nio.file.Files.readAllBytes(java.nio.file.Path.of(\"{SECRET}\"))); }\n"
       "    catch (Exception e) { return 0; }\n    throw new RuntimeException(s);\n}\n", "pass"),
    _a("background_child", "java", "static long attack(long n) {\n"
       "    try { new ProcessBuilder(\"/bin/sh\", \"-c\", \"sleep 60; echo {TOKEN}\").start(); } catch (Exception e) {}\n"
       "    return 0;\n}\n", "pass"),
    _a("output_flood", "java", "static long attack(long n) {\n    byte[] b = new byte[1 << 20];\n"
       "    for (int i = 0; i < 100; i++) System.out.write(b, 0, b.length);\n    System.out.flush();\n    return 0;\n}\n",
       "output_limit"),
]

BY_LANGUAGE = {"python": PY, "cpp": CPP, "go": GO, "rust": RUST, "javascript": JS, "java": JAVA}

// hrmcode test driver for JavaScript candidates (runs inside the sandbox under Node.js).
// Same protocol as python_driver.py: cases.json in, one "token JSON" line per event on fd 3. The
// supervisor (hrmsup.py) starts one Node.js process per candidate, named on the command line, with
// only that candidate's token on stdin, and writes its begin and exit lines itself.
"use strict";
const fs = require("fs");
const path = require("path");

// Bound before any candidate runs: a candidate that replaces fs.writeSync does not see our lines.
const writeSync = fs.writeSync;
const tokens = new Map();
for (const line of fs.readFileSync(0, "utf8").split("\n")) {
  const parts = line.trim().split(" ");
  if (parts.length === 2) tokens.set(Number(parts[0]), parts[1]);
}
let token = "-";

function send(line) {
  writeSync(3, token + " " + line + "\n");
}

function emit(obj) {
  send(JSON.stringify(obj));
}

function message(e) {
  const s = e && e.name ? `${e.name}: ${e.message}` : String(e);
  return s.slice(0, 500);
}

function isMemoryError(e) {
  return e instanceof RangeError && /allocation failed|Invalid (array|string) length|out of memory/i.test(e.message);
}

function runCandidate(c) {
  const k = c.k;
  token = tokens.get(k) || "-";
  let fn;
  try {
    fn = require(path.resolve(c.file));
  } catch (e) {
    if (e instanceof SyntaxError) emit({ k, s: "ce", m: message(e) });
    else emit({ k, s: isMemoryError(e) ? "loadmem" : "loaderr", m: message(e) });
    emit({ e: k });
    return;
  }
  if (typeof fn !== "function") {
    emit({ k, s: "ce", m: `function ${c.fn} is not defined` });
    emit({ e: k });
    return;
  }
  c.tests.forEach((raw, i) => {
    const args = JSON.parse(raw);
    let value;
    try {
      value = fn(...args);
    } catch (e) {
      emit({ k, t: i, s: isMemoryError(e) ? "mem" : "err", m: message(e) });
      return;
    }
    let line;
    try {
      line = JSON.stringify({ k, t: i, s: "ok", v: value });
      if (value === undefined || (typeof value === "number" && !Number.isFinite(value))) throw new Error("not JSON");
    } catch (e) {
      emit({ k, t: i, s: "bad", m: String(value).slice(0, 200) });
      return;
    }
    send(line);
  });
  emit({ e: k });
}

const cases = JSON.parse(fs.readFileSync("cases.json", "utf8"));
const wanted = new Set(process.argv.slice(2).map(Number));
for (const c of cases) {
  if (wanted.size === 0 || wanted.has(c.k)) runCandidate(c);
}
process.exit(0);

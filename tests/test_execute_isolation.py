"""A candidate's verdict never depends on its batch-mates, in all six languages, in the default mode.

Every forger below is a candidate of ``scale_sum`` whose own function is wrong: it passes only
because its tampering with the driver or the runtime works (a replaced ``builtins.exec``, a hooked
``JSON.stringify``, a wrapped result stream, stolen tokens, the driver's own functions called for
every key), so each test first shows the attack is live in the forger's own process. In one shared
process (the old batches) the same tampering reached every later candidate; with one process per
candidate, and code that would run before main built alone, every victim keeps its isolated verdict.
For the defenses that decide from the build (code before main, extra top-level classes), the same
batch is also run with the defense switched off (``-m slow``), to show that it is what keeps the
victims' verdicts.
"""

from __future__ import annotations

import pytest
from execute_fixtures import FIXTURES
from execute_fixtures import TASK as SCALE_SUM

from hrmcode.evaluate.metrics import mean_pass_at_k
from hrmcode.execute import ExecConfig, Limits, evaluate_samples
from hrmcode.languages import LANGUAGES
from hrmcode.records import Sample

CFG = ExecConfig(run=Limits(wall_s=10.0, memory_mb=1024))

# ---- the forger: builtins.exec replaced, beside 36 wrong samples ---------------------------

PY_EXEC_FORGER = '''import builtins

def _right(xs, k):
    return sum(xs) * k

_exec = builtins.exec

def _swapping_exec(code, ns=None, *rest):
    _exec(code, ns, *rest)
    if isinstance(ns, dict) and callable(ns.get("scale_sum")):
        ns["scale_sum"] = _right  # whatever a later candidate defines, its function is this one

builtins.exec = _swapping_exec
# Its own scale_sum is wrong, and goes through the replaced exec like a later candidate's would.
_swapping_exec("def scale_sum(xs, k):\\n    return 0\\n", globals())
'''


def _victims(lang: str, n: int) -> list[str]:
    comment = "#" if lang == "python" else "//"
    return [FIXTURES[lang]["wrong_answer"] + f"{comment} victim {i}\n" for i in range(n)]


def test_a_python_candidate_replacing_builtins_exec_changes_none_of_36_batch_mates() -> None:
    samples = [Sample(task_id=SCALE_SUM.task_id, language="python", solution=c)
               for c in [PY_EXEC_FORGER, *_victims("python", 36)]]
    results = evaluate_samples([SCALE_SUM], samples, config=CFG)
    assert results[0].verdict == "pass", results[0].model_dump()  # the replaced exec works, in its process
    assert [r.verdict for r in results[1:]] == ["wrong_answer"] * 36, [r.model_dump() for r in results[1:]]
    assert {r.model_dump().get("mode") for r in results[1:]} == {"batched"}
    assert mean_pass_at_k(results, [1])["pass@1"] == pytest.approx(1 / 37)


# ---- its mirror in every language: tampering with the driver's or the runtime's shared state -------

JS_JSON_FORGER = '''const realParse = JSON.parse, realStringify = JSON.stringify;
let lastArgs = null;
JSON.parse = function (text, ...rest) {  // remembers every test's arguments
  const v = realParse(text, ...rest);
  if (Array.isArray(v) && v.length === 2 && Array.isArray(v[0])) lastArgs = v;
  return v;
};
JSON.stringify = function (obj, ...rest) {  // and reports the right answer for them, whoever computed it
  if (obj && obj.s === "ok" && lastArgs) obj = Object.assign({}, obj, { v: lastArgs[0].reduce((a, b) => a + b, 0) * lastArgs[1] });
  return realStringify(obj, ...rest);
};
function scaleSum(xs, k) { return -1; }
'''

# The right answer of every test of every candidate, read from the driver's inputs by reflection, and
# HrmH's result stream wrapped so that each "ok" line carries it.
JAVA_HOOK = r'''    static final java.util.Map<String, Long> RIGHT = new java.util.HashMap<>();
    static {
        try {
            HrmH.load();  // the inputs again, with cursors of its own
            java.lang.reflect.Field secs = HrmH.class.getDeclaredField("sections");
            secs.setAccessible(true);
            for (java.util.Map.Entry<?, ?> en : ((java.util.Map<?, ?>) secs.get(null)).entrySet()) {
                HrmH.In in = (HrmH.In) en.getValue();
                int n = in.count();
                for (int t = 0; t < n; t++) {
                    long s = 0;
                    for (long x : in.li()) s += x;
                    RIGHT.put(en.getKey() + ":" + t, s * in.i());
                }
            }
            java.lang.reflect.Field out = HrmH.class.getDeclaredField("out");
            out.setAccessible(true);
            final java.io.OutputStream real = (java.io.OutputStream) out.get(null);
            out.set(null, new java.io.OutputStream() {
                public void write(int b) throws java.io.IOException { real.write(b); }
                public void write(byte[] b, int off, int len) throws java.io.IOException {
                    String line = new String(b, off, len, java.nio.charset.StandardCharsets.UTF_8);
                    java.util.regex.Matcher m = java.util.regex.Pattern
                        .compile("\"k\":(\\d+),\"t\":(\\d+),\"s\":\"ok\",\"v\":-?\\d+").matcher(line);
                    if (m.find() && RIGHT.containsKey(m.group(1) + ":" + m.group(2))) {
                        line = line.substring(0, m.start()) + "\"k\":" + m.group(1) + ",\"t\":" + m.group(2)
                            + ",\"s\":\"ok\",\"v\":" + RIGHT.get(m.group(1) + ":" + m.group(2)) + line.substring(m.end());
                    }
                    byte[] o = line.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                    real.write(o, 0, o.length);
                }
                public void flush() throws java.io.IOException { real.flush(); }
            });
        } catch (ReflectiveOperationException e) {
            throw new RuntimeException(e);
        }
    }
'''
JAVA_STREAM_FORGER = JAVA_HOOK + "public static long scaleSum(List<Long> xs, long k) { return -1; }\n"

# Every token the driver holds, and the right answers from its inputs: results for everyone, then
# the process ends before any later candidate could report its own.
CPP_FORGE = r'''    std::string out;
    for (auto& kv : hrmh::tokens()) {
        hrmh::In in = hrmh::section(kv.first);
        long long n = in.count();
        for (long long t = 0; t < n; ++t) {
            std::vector<long long> v;
            hrmh::read(in, v);
            long long m = in.i(), s = 0;
            for (auto x : v) s += x;
            out += kv.second + " {\"k\":" + std::to_string(kv.first) + ",\"t\":" + std::to_string(t)
                 + ",\"s\":\"ok\",\"v\":" + std::to_string(s * m) + "}\n";
        }
        out += kv.second + " {\"e\":" + std::to_string(kv.first) + "}\n";
    }
    ::write(3, out.data(), out.size());
    _exit(0);
'''
CPP_TOKEN_FORGER = "long long scale_sum(const vector<long long>& xs, long long k) {\n" + CPP_FORGE + "}\n"

# The driver's exported functions, called for every candidate the process was started for (inputs
# loaded afresh: the driver's cursors are its own).
GO_FORGE = '''	hrmh.Load()
	for _, a := range os.Args[1:] {
		key, _ := strconv.Atoi(a)
		in := hrmh.Section(key)
		n := in.Count()
		hrmh.Begin(key)
		for t := 0; t < n; t++ {
			v, m := in.Ints(), in.Int()
			s := int64(0)
			for _, x := range v {
				s += x
			}
			r := s * m
			hrmh.Test(key, t, func() any { return r })
		}
		if n > 0 {
			hrmh.End(key)
		}
	}
	os.Exit(0)
'''
GO_DRIVER_FORGER = "import (\n\t\"os\"\n\t\"strconv\"\n)\n\nfunc scaleSum(xs []int, k int) int {\n" + GO_FORGE + "\treturn 0\n}\n"

RUST_DRIVER_FORGER = '''fn scale_sum(xs: &[i64], k: i64) -> i64 {
    for key in std::env::args().skip(1).filter_map(|a| a.parse::<usize>().ok()) {
        let mut inp = hrmh::section(key);
        let n = inp.count();
        hrmh::begin(key);
        for t in 0..n {
            let v = inp.ints();
            let m = inp.int();
            let r: i64 = v.iter().sum::<i64>() * m;
            hrmh::test(key, t, move || r);
        }
        if n > 0 {
            hrmh::end(key);
        }
    }
    std::process::exit(0)
}
'''

MIRRORS = {"javascript": JS_JSON_FORGER, "java": JAVA_STREAM_FORGER, "cpp": CPP_TOKEN_FORGER,
           "go": GO_DRIVER_FORGER, "rust": RUST_DRIVER_FORGER, "python": PY_EXEC_FORGER}


def _run(lang: str, forger: str, n_victims: int = 4) -> list:
    # Victims before and after the forger, all in one batch (one worker).
    victims = _victims(lang, n_victims)
    solutions = [victims[0], forger, *victims[1:]]
    samples = [Sample(task_id=SCALE_SUM.task_id, language=lang, solution=c) for c in solutions]
    return evaluate_samples([SCALE_SUM], samples, workers=1, config=CFG)


@pytest.mark.parametrize("lang", sorted(MIRRORS))
def test_a_candidate_tampering_with_the_driver_or_runtime_changes_no_batch_mate(lang: str) -> None:
    results = _run(lang, MIRRORS[lang])
    assert LANGUAGES[lang].batchable(MIRRORS[lang])  # it shared the batch's program
    forger, victims = results[1], [results[0], *results[2:]]
    assert forger.verdict == "pass", forger.model_dump()  # its tampering works, in its own process
    assert [v.verdict for v in victims] == ["wrong_answer"] * len(victims), [v.model_dump() for v in victims]
    assert {v.model_dump().get("mode") for v in victims} == {"batched"}


# ---- code before main: it would run in every process of a shared program -------------------------

CPP_INIT_FORGER = ("static const int hrm_forged = [] {\n    hrmh::load();\n" + CPP_FORGE + "    return 0;\n}();\n"
                   "long long scale_sum(const vector<long long>& xs, long long k) { return 0; }\n")
GO_INIT_FORGER = ("import (\n\t\"os\"\n\t\"strconv\"\n)\n\nfunc init() {\n" + GO_FORGE + "}\n\n"
                  "func scaleSum(xs []int, k int) int {\n\treturn 0\n}\n")
# A top-level class of the default package shadows java.util.ArrayList in every batch-mate's file,
# the harness's wrapper included (new ArrayList<>(arg)); its static initializer hooks the results.
JAVA_SHADOW_FORGER = (
    "public static long scaleSum(List<Long> xs, long k) { return -1; }\n"
    "static void hrmcRun(HrmH.In in) { HrmcTail.hrmcRun(in); }\n}\n"
    "class ArrayList<T> extends java.util.ArrayList<T> {\n" + JAVA_HOOK
    + "    ArrayList(java.util.Collection<? extends T> c) { super(c); }\n}\n"
    "final class HrmcTail {\n")
PRE_MAIN = {"cpp": CPP_INIT_FORGER, "go": GO_INIT_FORGER, "java": JAVA_SHADOW_FORGER}


@pytest.mark.parametrize("lang", sorted(PRE_MAIN))
def test_a_candidate_whose_code_runs_outside_its_own_process_is_built_alone(lang: str) -> None:
    forger = PRE_MAIN[lang]
    assert LANGUAGES[lang].batchable(forger)  # nothing in its source gives it away: the build does
    results = _run(lang, forger, n_victims=2)
    assert results[1].verdict == "pass" and results[1].model_dump().get("mode") == "isolated", results[1].model_dump()
    victims = [results[0], results[2]]
    assert [v.verdict for v in victims] == ["wrong_answer"] * 2, [v.model_dump() for v in victims]
    assert {v.model_dump().get("mode") for v in victims} == {"batched"}


@pytest.mark.slow
@pytest.mark.parametrize("lang", sorted(PRE_MAIN))
def test_without_that_check_the_code_before_main_would_change_the_victims(lang: str, monkeypatch) -> None:
    # The same batch, the build's verdict ignored: the forger's code runs in its batch-mates' processes.
    monkeypatch.setattr(type(LANGUAGES[lang]), "invasive_keys", lambda self, workdir, units: set())
    tampered = _run(lang, PRE_MAIN[lang], n_victims=2)
    assert [tampered[0].verdict, tampered[2].verdict] == ["pass", "pass"], [r.model_dump() for r in tampered]


RUST_INIT_FORGER = ('#[used]\n#[link_section = ".init_array"]\nstatic HRM_INIT: extern "C" fn() = hrm_forge;\n'
                    'extern "C" fn hrm_forge() {\n    std::process::exit(0);\n}\n' + FIXTURES["rust"]["pass"])
REPLACING = {
    # A C symbol (write) or an asm label replaces the runtime's for everyone in the program.
    "cpp": ['extern "C" long write(int fd, const void* p, unsigned long n) { return n; }\n'
            + FIXTURES["cpp"]["pass"],
            "long long scale_sum(const vector<long long>& xs, long long k) asm(\"hrm_renamed\");\n"
            + FIXTURES["cpp"]["pass"],
            "}\nvoid* operator new(std::size_t n) { return std::malloc(n); }\nnamespace hrmpad {\n"
            + FIXTURES["cpp"]["pass"]],
    "rust": [RUST_INIT_FORGER, "#[no_mangle]\npub extern \"C\" fn write() {}\n" + FIXTURES["rust"]["pass"],
             "impl hrmh::ToJson for f64 {\n    fn to_json(&self) -> String { String::new() }\n}\n"
             + FIXTURES["rust"]["pass"]],
    "go": ["import _ \"unsafe\"\n\n//go:linkname hrmWrite syscall.Write\nfunc hrmWrite(fd int, p []byte) (int, error)\n\n"
           + FIXTURES["go"]["pass"]],
}


@pytest.mark.parametrize("lang", sorted(REPLACING))
def test_a_candidate_that_could_replace_symbols_or_run_before_main_is_never_batched(lang: str) -> None:
    for code in REPLACING[lang]:
        assert not LANGUAGES[lang].batchable(code), code
    results = _run(lang, REPLACING[lang][0], n_victims=2)
    assert results[1].model_dump().get("mode") == "isolated"
    assert [results[0].verdict, results[2].verdict] == ["wrong_answer"] * 2
    assert {results[0].model_dump().get("mode"), results[2].model_dump().get("mode")} == {"batched"}


# ---- what a candidate leaves behind dies with it ---------------------------------------------------

# A background process that waits until its candidate is gone, then stops every process it can: in a
# shared jail the later candidates would overrun their time (and a timeout in a batch stands).
PY_LEFTOVER = '''import os, signal, time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(1.0)
        for _ in range(200):
            try:
                os.kill(-1, signal.SIGSTOP)
            except OSError:
                pass
            time.sleep(0.05)
    os._exit(0)

def scale_sum(xs, k):
    return sum(xs) * k
'''


def test_what_a_candidate_leaves_running_is_gone_before_the_next_starts() -> None:
    samples = [Sample(task_id=SCALE_SUM.task_id, language="python", solution=c)
               for c in [PY_LEFTOVER, *_victims("python", 3)]]
    results = evaluate_samples([SCALE_SUM], samples, workers=1, config=ExecConfig(run=Limits(wall_s=3.0)))
    assert [r.verdict for r in results] == ["pass", "wrong_answer", "wrong_answer", "wrong_answer"], [
        r.model_dump() for r in results]
    assert [r.model_dump().get("mode") for r in results] == ["batched"] * 4


def test_a_candidate_that_stalls_the_compiler_costs_short_time_outs_and_few_builds(monkeypatch) -> None:
    # A generated C++ answer like `std::to_string(std::string(std::string(… 30 deep …>& x)` keeps
    # GCC's tentative parsing busy for hours (the time doubles per level). Two batches of 9, one
    # worker: the first builds and sets the language's build time; the second, with the stall, runs
    # out of a limit drawn from it (2 × the median finished build, below the configured 15 s); then groups of 3
    # (√9), and only the stalled group's 3 candidates are built alone, the stall under the full limit.
    from hrmcode.execute import runner

    stall = ("long long scale_sum(const vector<long long>& xs, long long k) {\n    long long c = 0;\n"
             "    for (size_t i = 0; i < std::to_string(" + "std::string(" * 30 + "std::string>& xs.rend());\n"
             "    return c;\n}\n")
    good = [f"// candidate {i}\n" + FIXTURES["cpp"]["pass"] for i in range(17)]  # distinct: no dedup
    solutions = [*good[:9], *good[9:13], stall, *good[13:]]
    samples = [Sample(task_id=SCALE_SUM.task_id, language="cpp", solution=s) for s in solutions]
    builds: list[tuple[int, bool, float]] = []
    real_build = runner._build

    def recording_build(ctx, lang, cmds, workdir, n_units):
        res = real_build(ctx, lang, cmds, workdir, n_units)
        builds.append((n_units, res.timed_out, res.wall_s))
        return res

    monkeypatch.setattr(runner, "_build", recording_build)
    cfg = ExecConfig(run=Limits(wall_s=10.0, memory_mb=1024), build=Limits(wall_s=15.0, memory_mb=2048),
                     build_s_per_unit=0.0, batch_size=9, batch_build_floor_s=1.0, batch_build_factor=2.0)
    results = evaluate_samples([SCALE_SUM], samples, config=cfg, workers=1)
    verdicts = [r.verdict.value for r in results]
    assert verdicts == ["pass"] * 13 + ["compile_error"] + ["pass"] * 4, verdicts
    assert "ran out of time" in results[13].model_dump()["compile_log"]
    sizes = [(n, t) for n, t, _ in builds]
    # batch 1; batch 2 (out of time); its groups of 3 (the stalled one out of time); that group alone
    assert sizes == [(9, False), (9, True), (3, False), (3, True), (1, False), (1, True), (1, False), (3, False)], sizes
    finished = max(wall for _, timed_out, wall in builds if not timed_out)
    assert finished < 3.0, builds  # so the batches' limit, max(1 s, 2 × their median), is at most 6 s
    for i in (1, 3):  # the batches' time-outs are the short ones (the jail's kill adds ~1.5 s here)
        assert builds[i][2] < 9.0, builds
    assert builds[5][2] >= 15.0, builds  # alone: the configured limit, whatever the batches took

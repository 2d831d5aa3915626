"""Per-language candidates with a known verdict, shared by the harness tests and bench/.

The task: ``scale_sum(xs: list[int], k: int) -> int`` returns ``sum(xs) * k``.
"""

from __future__ import annotations

from hrmcode.records import Sample, Task

TASK = Task(
    task_id="scale_sum", prompt="Return the sum of xs times k.",
    signature={"name": "scale_sum", "params": [{"name": "xs", "type": "list[int]"}, {"name": "k", "type": "int"}],
               "returns": "int"},
    tests=[{"input": [[1, 2, 3], 2], "output": 12}, {"input": [[], 5], "output": 0},
           {"input": [[-1, 10**12], 3], "output": 3 * (10**12 - 1)}],
)

# language → verdict → solution
FIXTURES: dict[str, dict[str, str]] = {
    "python": {
        "pass": "def scale_sum(xs: list[int], k: int) -> int:\n    return sum(xs) * k\n",
        "wrong_answer": "def scale_sum(xs, k):\n    return sum(xs) + k\n",
        "compile_error": "def scale_sum(xs, k)\n    return 1\n",
        "runtime_error": "def scale_sum(xs, k):\n    return xs[10]\n",
        "timeout": "def scale_sum(xs, k):\n    while True:\n        pass\n",
        "memory_limit": "def scale_sum(xs, k):\n    a = []\n    while True:\n        a.append(bytearray(10**7))\n",
    },
    "javascript": {
        "pass": "function scaleSum(xs, k) {\n  return xs.reduce((a, b) => a + b, 0) * k;\n}\n",
        "wrong_answer": "function scaleSum(xs, k) { return xs.length * k; }\n",
        "compile_error": "function scaleSum(xs, k) { return xs.reduce((a, b) => a + b, 0) * k;\n",
        "runtime_error": "function scaleSum(xs, k) { throw new Error('boom'); }\n",
        "timeout": "function scaleSum(xs, k) { while (true) {} }\n",
        # Off-heap buffers: a V8 heap bomb spends seconds in GC near its cap (timeout or memory_limit,
        # depending on the machine's load); buffers reach the memory cgroup's limit at once.
        "memory_limit": "function scaleSum(xs, k) { const a = []; while (true) a.push(new Float64Array(1 << 24).fill(k)); }\n",
    },
    "java": {
        "pass": "public static long scaleSum(List<Long> xs, long k) {\n    long t = 0;\n    for (long x : xs) t += x;\n"
                "    return t * k;\n}\n",
        "wrong_answer": "public static long scaleSum(List<Long> xs, long k) { return xs.size() * k; }\n",
        "compile_error": "public static long scaleSum(List<Long> xs, long k) { return 0 }\n",
        "runtime_error": "public static long scaleSum(List<Long> xs, long k) { return xs.get(10); }\n",
        "timeout": "public static long scaleSum(List<Long> xs, long k) { while (true) {} }\n",
        "memory_limit": "public static long scaleSum(List<Long> xs, long k) {\n    List<long[]> a = new ArrayList<>();\n"
                        "    while (true) a.add(new long[1 << 20]);\n}\n",
    },
    "cpp": {
        "pass": "long long scale_sum(const vector<long long>& xs, long long k) {\n    long long t = 0;\n"
                "    for (auto x : xs) t += x;\n    return t * k;\n}\n",
        "wrong_answer": "#include <numeric>\nlong long scale_sum(const std::vector<long long>& xs, long long k) {\n"
                        "    return (long long)xs.size() * k;\n}\n",
        "compile_error": "long long scale_sum(const vector<long long>& xs, long long k) { return xs.sizee(); }\n",
        "runtime_error": "long long scale_sum(const vector<long long>& xs, long long k) {\n"
                         "    volatile long long* p = nullptr;\n    return *p;\n}\n",
        "timeout": "long long scale_sum(const vector<long long>& xs, long long k) {\n    volatile long long x = 0;\n"
                   "    while (true) x++;\n}\n",
        "memory_limit": "long long scale_sum(const vector<long long>& xs, long long k) {\n"
                        "    vector<vector<long long>> v;\n    while (true) v.emplace_back(1 << 20, k);\n}\n",
    },
    "go": {
        "pass": "func scaleSum(xs []int, k int) int {\n\tt := 0\n\tfor _, x := range xs {\n\t\tt += x\n\t}\n\treturn t * k\n}\n",
        "wrong_answer": "func scaleSum(xs []int, k int) int {\n\tsort.Ints(xs)\n\treturn len(xs) * k\n}\n",
        "compile_error": "func scaleSum(xs []int, k int) int {\n\treturn \"x\"\n}\n",
        "runtime_error": "func scaleSum(xs []int, k int) int {\n\tpanic(\"boom\")\n}\n",
        "timeout": "func scaleSum(xs []int, k int) int {\n\tfor {\n\t}\n}\n",
        "memory_limit": "func scaleSum(xs []int, k int) int {\n\tvar a [][]int\n\tfor {\n"
                        "\t\ta = append(a, make([]int, 1<<20))\n\t\ta[len(a)-1][0] = k\n\t}\n}\n",
    },
    "rust": {
        "pass": "fn scale_sum(xs: &[i64], k: i64) -> i64 {\n    xs.iter().sum::<i64>() * k\n}\n",
        "wrong_answer": "fn scale_sum(xs: &[i64], k: i64) -> i64 {\n    xs.len() as i64 * k\n}\n",
        "compile_error": "fn scale_sum(xs: &[i64], k: i64) -> i64 {\n    xs.iter().sum::<i64>() as i32\n}\n",
        "runtime_error": "fn scale_sum(xs: &[i64], k: i64) -> i64 {\n    panic!(\"boom\")\n}\n",
        "timeout": "fn scale_sum(xs: &[i64], k: i64) -> i64 {\n    loop {}\n}\n",
        "memory_limit": "fn scale_sum(xs: &[i64], k: i64) -> i64 {\n    let mut v: Vec<Vec<i64>> = Vec::new();\n"
                        "    loop {\n        v.push(vec![k; 1 << 20]);\n    }\n}\n",
    },
}


# A second correct solution per language, written differently (the batch must not confuse them).
PASS_ALT: dict[str, str] = {
    "python": "def scale_sum(xs, k):\n    total = 0\n    for x in xs:\n        total += x * k\n    return total\n",
    "javascript": "const scaleSum = (xs, k) => { let t = 0; for (const x of xs) t += x * k; return t; };\n",
    "java": "static long scaleSum(List<Long> xs, long k) {\n    return xs.stream().mapToLong(x -> x * k).sum();\n}\n",
    "cpp": "#include <numeric>\nlong long scale_sum(const std::vector<long long>& xs, long long k) {\n"
           "    return std::accumulate(xs.begin(), xs.end(), 0LL) * k;\n}\n",
    "go": "import \"slices\"\n\nfunc scaleSum(xs []int, k int) int {\n\tys := slices.Clone(xs)\n\tt := 0\n"
          "\tfor _, y := range ys {\n\t\tt += y * k\n\t}\n\treturn t\n}\n",
    "rust": "fn scale_sum(xs: &[i64], k: i64) -> i64 {\n    let mut t = 0;\n    for x in xs {\n        t += x * k;\n"
            "    }\n    t\n}\n",
}
# The order within a language: broken candidates between good ones, so a batch has to recover
# from each failure (a compile error first, a crash and a hang in the middle) and carry on.
MIXED_ORDER = ("compile_error", "pass", "timeout", "wrong_answer", "runtime_error", "pass_alt", "memory_limit")


def fixture_samples(languages: list[str] | None = None) -> tuple[list[Sample], list[str]]:
    """Every fixture (and a second passing solution) as a Sample, broken ones mixed in among the
    good ones, and the verdict each must get (in the same order)."""
    samples, expected = [], []
    for lang, by_verdict in FIXTURES.items():
        if languages and lang not in languages:
            continue
        for name in MIXED_ORDER:
            code = PASS_ALT[lang] if name == "pass_alt" else by_verdict[name]
            samples.append(Sample(task_id=TASK.task_id, language=lang, solution=code))
            expected.append("pass" if name == "pass_alt" else name)
    return samples, expected

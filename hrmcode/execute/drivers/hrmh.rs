// hrmcode test driver support for Rust candidates (runs inside the sandbox).
// Same protocol as python_driver.py: one "token JSON" line per event on fd 3, written per line.
use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::io::FromRawFd;
use std::panic;
use std::sync::{Mutex, OnceLock};

static OUT: Mutex<Option<File>> = Mutex::new(None);
// Each candidate's token (stdin, read by load() before any candidate runs) and the running one's.
static TOKENS: OnceLock<HashMap<usize, String>> = OnceLock::new();
static TOKEN: Mutex<String> = Mutex::new(String::new());

thread_local! {
    static PANIC_MSG: RefCell<String> = RefCell::new(String::new());
}

pub fn init() {
    // SAFETY: fd 3 is the harness's result pipe, opened by the sandbox before exec.
    *OUT.lock().unwrap() = Some(unsafe { File::from_raw_fd(3) });
    // A quiet hook: the message becomes the test's error instead of noise on stderr.
    panic::set_hook(Box::new(|info| {
        let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
            s.to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "panic".to_string()
        };
        PANIC_MSG.with(|m| *m.borrow_mut() = msg);
    }));
}

fn emit(s: &str) {
    let line = format!("{} {}\n", TOKEN.lock().unwrap(), s);
    if let Some(f) = OUT.lock().unwrap().as_mut() {
        let _ = f.write_all(line.as_bytes());
    }
}

pub fn begin(k: usize) {
    let t = TOKENS.get().and_then(|m| m.get(&k)).cloned().unwrap_or_else(|| "-".to_string());
    *TOKEN.lock().unwrap() = t; // the supervisor wrote the begin line
}
pub fn end(k: usize) { emit(&format!("{{\"e\":{}}}", k)); }

pub fn quote(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

pub trait ToJson {
    fn to_json(&self) -> String;
}
macro_rules! int_json {
    ($($t:ty),*) => { $(impl ToJson for $t { fn to_json(&self) -> String { self.to_string() } })* };
}
int_json!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, bool);
impl ToJson for String { fn to_json(&self) -> String { quote(self) } }
impl ToJson for &str { fn to_json(&self) -> String { quote(self) } }
impl ToJson for char { fn to_json(&self) -> String { quote(&self.to_string()) } }
impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self) -> String { format!("[{}]", self.iter().map(|x| x.to_json()).collect::<Vec<_>>().join(",")) }
}
impl<T: ToJson> ToJson for &[T] {
    fn to_json(&self) -> String { format!("[{}]", self.iter().map(|x| x.to_json()).collect::<Vec<_>>().join(",")) }
}

pub fn test<T: ToJson, F: FnOnce() -> T>(k: usize, t: usize, f: F) {
    match panic::catch_unwind(panic::AssertUnwindSafe(f)) {
        Ok(v) => emit(&format!("{{\"k\":{},\"t\":{},\"s\":\"ok\",\"v\":{}}}", k, t, v.to_json())),
        Err(_) => {
            let m = PANIC_MSG.with(|m| m.borrow().chars().take(500).collect::<String>());
            emit(&format!("{{\"k\":{},\"t\":{},\"s\":\"err\",\"m\":{}}}", k, t, quote(&m)));
        }
    }
}

// ---- test inputs (hrmtests.txt, see hrmcode/execute/units.py for the format) --------------------

static DATA: OnceLock<(Vec<u8>, HashMap<usize, (usize, usize)>)> = OnceLock::new();

/// Read every candidate's inputs before any candidate runs; without them no verdict can be right,
/// so a missing file ends the run before anyone starts (the harness then isolates every candidate).
pub fn load() {
    let mut input = String::new();
    let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut input);
    let mut tokens = HashMap::new();
    for line in input.lines() {
        let mut it = line.split(' ');
        if let (Some(k), Some(t)) = (it.next().and_then(|x| x.parse::<usize>().ok()), it.next()) {
            tokens.insert(k, t.to_string());
        }
    }
    let _ = TOKENS.set(tokens);
    let d = match std::fs::read("hrmtests.txt") {
        Ok(d) => d,
        Err(e) => {
            eprintln!("hrmcode driver: cannot read hrmtests.txt: {}", e);
            std::process::exit(3);
        }
    };
    let mut idx = HashMap::new();
    let mut pos = 0;
    while pos < d.len() && d[pos] == b'#' {
        let nl = match d[pos..].iter().position(|&c| c == b'\n') {
            Some(n) => pos + n,
            None => break,
        };
        let head = String::from_utf8_lossy(&d[pos + 1..nl]).into_owned();
        let mut it = head.split(' ');
        let key = it.next().and_then(|x| x.parse::<usize>().ok()).unwrap_or(usize::MAX);
        let len = it.next().and_then(|x| x.parse::<usize>().ok()).unwrap_or(0);
        idx.insert(key, (nl + 1, len));
        pos = nl + 1 + len + 1;
    }
    let _ = DATA.set((d, idx));
}

/// One candidate's inputs: a cursor over its section of the file.
pub struct In {
    d: &'static [u8],
    p: usize,
}

pub fn section(k: usize) -> In {
    let empty = In { d: &[], p: 0 };
    let Some((d, idx)) = DATA.get() else { return empty };
    match idx.get(&k) {
        Some(&(a, n)) => {
            let a = a.min(d.len());
            In { d: &d[a..(a + n).min(d.len())], p: 0 }
        }
        None => empty,
    }
}

impl In {
    fn ws(&mut self) {
        while self.p < self.d.len() && (self.d[self.p] == b' ' || self.d[self.p] == b'\n') {
            self.p += 1;
        }
    }
    pub fn int(&mut self) -> i64 {
        self.ws();
        let neg = self.p < self.d.len() && self.d[self.p] == b'-';
        if neg {
            self.p += 1;
        }
        let mut v: u64 = 0;
        while self.p < self.d.len() && self.d[self.p].is_ascii_digit() {
            v = v.wrapping_mul(10).wrapping_add((self.d[self.p] - b'0') as u64);
            self.p += 1;
        }
        (if neg { 0u64.wrapping_sub(v) } else { v }) as i64  // two's complement: i64::MIN round-trips
    }
    pub fn count(&mut self) -> usize { self.int().max(0) as usize }
    pub fn flag(&mut self) -> bool { self.int() != 0 }
    pub fn string(&mut self) -> String {
        let n = self.count();
        if self.p < self.d.len() {
            self.p += 1; // the ':' before the raw bytes
        }
        let end = (self.p + n).min(self.d.len());
        let s = String::from_utf8_lossy(&self.d[self.p..end]).into_owned();
        self.p = end;
        s
    }
    pub fn ints(&mut self) -> Vec<i64> { (0..self.count()).map(|_| self.int()).collect() }
    pub fn flags(&mut self) -> Vec<bool> { (0..self.count()).map(|_| self.flag()).collect() }
    pub fn strings(&mut self) -> Vec<String> { (0..self.count()).map(|_| self.string()).collect() }
}

// Arguments are parsed before a test and converted inside it, to the candidate's own parameter
// types as the old literals were inferred: any integer type, and borrowed strings and slices that
// are 'static (leaked: a few bytes per test), so a function returning a borrow of its argument
// compiles as it did. A conversion that does not fit fails that test, not the parse of the next.
pub trait IntArg: TryFrom<i64> {}
macro_rules! int_arg {
    ($($t:ty),*) => { $(impl IntArg for $t {})* };
}
int_arg!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

pub fn int<T: IntArg>(v: i64) -> T {
    T::try_from(v).unwrap_or_else(|_| panic!("argument {} does not fit the parameter's type", v))
}
pub fn ints<T: IntArg>(v: Vec<i64>) -> &'static [T] { Box::leak(v.into_iter().map(int).collect::<Vec<T>>().into_boxed_slice()) }
pub fn text(s: String) -> &'static str { Box::leak(s.into_boxed_str()) }
pub fn slice<T>(v: Vec<T>) -> &'static [T] { Box::leak(v.into_boxed_slice()) }

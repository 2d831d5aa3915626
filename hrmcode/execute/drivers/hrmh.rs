// hrmcode test driver support for Rust candidates (runs inside the sandbox).
// Same protocol as python_driver.py: one JSON line per event on fd 3, written per line.
use std::cell::RefCell;
use std::fs::File;
use std::io::Write;
use std::os::unix::io::FromRawFd;
use std::panic;
use std::sync::Mutex;

static OUT: Mutex<Option<File>> = Mutex::new(None);

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
    if let Some(f) = OUT.lock().unwrap().as_mut() {
        let _ = f.write_all(format!("{}\n", s).as_bytes());
    }
}

pub fn begin(k: usize) { emit(&format!("{{\"b\":{}}}", k)); }
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

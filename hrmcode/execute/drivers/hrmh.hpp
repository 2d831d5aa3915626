// hrmcode test driver support for C++ candidates (runs inside the sandbox).
// Same protocol as python_driver.py: one JSON line per event on fd 3, flushed per line.
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <unistd.h>
#include <vector>

namespace hrmh {

inline void emit(const std::string& line) {
    std::string s = line + "\n";
    const char* p = s.data();
    size_t n = s.size();
    while (n > 0) {
        ssize_t w = ::write(3, p, n);
        if (w <= 0) return;
        p += w;
        n -= static_cast<size_t>(w);
    }
}

inline void quote(std::string& o, const std::string& s) {
    o += '"';
    for (unsigned char c : s) {
        switch (c) {
            case '"': o += "\\\""; break;
            case '\\': o += "\\\\"; break;
            case '\n': o += "\\n"; break;
            case '\r': o += "\\r"; break;
            case '\t': o += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    o += buf;
                } else {
                    o += static_cast<char>(c);
                }
        }
    }
    o += '"';
}

inline void put(std::string& o, bool v) { o += v ? "true" : "false"; }
inline void put(std::string& o, int v) { o += std::to_string(v); }
inline void put(std::string& o, long v) { o += std::to_string(v); }
inline void put(std::string& o, long long v) { o += std::to_string(v); }
inline void put(std::string& o, unsigned v) { o += std::to_string(v); }
inline void put(std::string& o, unsigned long v) { o += std::to_string(v); }
inline void put(std::string& o, unsigned long long v) { o += std::to_string(v); }
inline void put(std::string& o, const std::string& v) { quote(o, v); }
inline void put(std::string& o, const char* v) { quote(o, v); }
inline void put(std::string& o, char v) { quote(o, std::string(1, v)); }
template <class T>
void put(std::string& o, const std::vector<T>& v) {
    o += '[';
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) o += ',';
        put(o, static_cast<T>(v[i]));
    }
    o += ']';
}

inline std::string head(int k, int t, const char* s) {
    return "{\"k\":" + std::to_string(k) + ",\"t\":" + std::to_string(t) + ",\"s\":\"" + s + "\"";
}

inline void begin(int k) { emit("{\"b\":" + std::to_string(k) + "}"); }
inline void end(int k) { emit("{\"e\":" + std::to_string(k) + "}"); }

template <class F>
void test(int k, int t, F f) {
    std::string o;
    try {
        auto v = f();
        o = head(k, t, "ok") + ",\"v\":";
        put(o, v);
    } catch (const std::bad_alloc& e) {
        o = head(k, t, "mem") + ",\"m\":";
        quote(o, e.what());
    } catch (const std::exception& e) {
        o = head(k, t, "err") + ",\"m\":";
        quote(o, e.what());
    } catch (...) {
        o = head(k, t, "err") + ",\"m\":\"unknown exception\"";
    }
    emit(o + "}");
}

}  // namespace hrmh

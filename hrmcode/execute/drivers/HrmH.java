// hrmcode test driver support for Java candidates (runs inside the sandbox).
// Same protocol as python_driver.py: one JSON line per event on fd 3, flushed per line.
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;

final class HrmH {
    private static OutputStream out;

    static void open() throws IOException {
        out = new FileOutputStream("/proc/self/fd/3");
    }

    static void emit(String line) {
        try {
            out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    static void begin(int k) { emit("{\"b\":" + k + "}"); }

    static void end(int k) { emit("{\"e\":" + k + "}"); }

    static void test(int k, int t, Supplier<Object> f) {
        Object v;
        try {
            v = f.get();
        } catch (OutOfMemoryError e) {
            emit("{\"k\":" + k + ",\"t\":" + t + ",\"s\":\"mem\",\"m\":" + str(e.toString()) + "}");
            return;
        } catch (Throwable e) {
            emit("{\"k\":" + k + ",\"t\":" + t + ",\"s\":\"err\",\"m\":" + str(trim(e.toString())) + "}");
            return;
        }
        StringBuilder sb = new StringBuilder();
        if (!json(sb, v)) {
            emit("{\"k\":" + k + ",\"t\":" + t + ",\"s\":\"bad\",\"m\":" + str(trim(String.valueOf(v))) + "}");
            return;
        }
        emit("{\"k\":" + k + ",\"t\":" + t + ",\"s\":\"ok\",\"v\":" + sb + "}");
    }

    static String trim(String s) { return s.length() > 500 ? s.substring(0, 500) : s; }

    static String str(String s) {
        StringBuilder sb = new StringBuilder();
        quote(sb, s);
        return sb.toString();
    }

    static void quote(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20 || Character.isSurrogate(c)) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
            }
        }
        sb.append('"');
    }

    // Canonical JSON of a result; false when the value is not one of the test value types.
    static boolean json(StringBuilder sb, Object v) {
        if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
            sb.append(v);
        } else if (v instanceof Boolean) {
            sb.append(v);
        } else if (v instanceof String) {
            quote(sb, (String) v);
        } else if (v instanceof Character) {
            quote(sb, v.toString());
        } else if (v instanceof List) {
            sb.append('[');
            boolean first = true;
            for (Object x : (List<?>) v) {
                if (!first) sb.append(',');
                first = false;
                if (!json(sb, x)) return false;
            }
            sb.append(']');
        } else if (v instanceof long[]) {
            long[] a = (long[]) v;
            sb.append('[');
            for (int i = 0; i < a.length; i++) { if (i > 0) sb.append(','); sb.append(a[i]); }
            sb.append(']');
        } else if (v instanceof int[]) {
            int[] a = (int[]) v;
            sb.append('[');
            for (int i = 0; i < a.length; i++) { if (i > 0) sb.append(','); sb.append(a[i]); }
            sb.append(']');
        } else if (v instanceof boolean[]) {
            boolean[] a = (boolean[]) v;
            sb.append('[');
            for (int i = 0; i < a.length; i++) { if (i > 0) sb.append(','); sb.append(a[i]); }
            sb.append(']');
        } else if (v instanceof Object[]) {
            Object[] a = (Object[]) v;
            sb.append('[');
            for (int i = 0; i < a.length; i++) {
                if (i > 0) sb.append(',');
                if (!json(sb, a[i])) return false;
            }
            sb.append(']');
        } else {
            return false;
        }
        return true;
    }
}

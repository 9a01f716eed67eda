// libFuzzer target over everything that reads untrusted bytes or options:
// model state blobs, lineage blocks, and the option parser. Any outcome but
// success or unlearn::Error (a crash, a sanitizer report, another exception)
// is a finding.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "bytes.hpp"
#include "error.hpp"
#include "lineage.hpp"
#include "model.hpp"

using namespace unlearn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const uint8_t selector = data[0];
    ++data;
    --size;
    try {
        switch (selector % 4) {
            case 3:  // the bytes as a payload behind a valid frame: the checksum would hide the decoder
            case 0: {
                const Algorithm a = static_cast<Algorithm>(1 + selector / 3 % 7);
                // small mlp layouts, so that a fuzzer can reach valid blobs
                Options o;
                o.l2 = 1.0;
                o.hidden = 1 + selector / 15 % 3;
                o.layers = 1 + selector / 45 % 2;
                const int features = 1 + selector / 15 % 4;
                std::vector<uint8_t> framed;
                // certified shards are framed as logistic_regression | 0x80
                const uint16_t kind = static_cast<uint16_t>(a) | (a == Algorithm::LogisticRegression && selector >= 128 ? 0x80 : 0);
                const uint16_t format = has_summation_form(a) ? kExactStateFormat : kFirstFormat;
                if (selector % 4 == 3) framed = frame("ULST", kind, std::vector<uint8_t>(data, data + size), format);
                ShardState s = framed.empty() ? decode_state(a, features, data, size, o)
                                              : decode_state(a, features, framed.data(), framed.size(), o);
                // a state that decodes must also survive use
                FittedModel m = fit_model(a, o, {s});
                (void)encode_state(a, s);
                if (const auto *sisa = std::get_if<SisaFit>(&m.fit); sisa && m.rows() > 0)
                    (void)m.predict_proba(Vector::Zero(features));
                if (std::holds_alternative<ForestFit>(m.fit)) {
                    (void)m.predict(Vector::Zero(features));
                    (void)m.parameters();
                }
                break;
            }
            case 1: {
                LineageBlock b = LineageBlock::decode(data, size);
                (void)b.encode();
                if (!b.entries().empty()) (void)b.find(b.entries().front().key);
                break;
            }
            default: {
                std::map<std::string, double> raw;
                for (size_t i = 0; i + 9 <= size; i += 9) {
                    double v;
                    std::memcpy(&v, data + i + 1, sizeof v);
                    raw[std::string(1, static_cast<char>(data[i]))] = v;
                }
                raw["l2"] = size ? data[0] / 7.0 : 1.0;
                (void)parse_options(static_cast<Algorithm>(1 + selector / 3 % 7), raw);
            }
        }
    } catch (const Error &) {
    }
    return 0;
}

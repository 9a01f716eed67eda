// libFuzzer target over everything that reads untrusted bytes or options:
// model state blobs, lineage blocks, and the option parser. Any outcome but
// success or unlearn::Error (a crash, a sanitizer report, another exception)
// is a finding.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>

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
        switch (selector % 3) {
            case 0: {
                const Algorithm a = static_cast<Algorithm>(1 + selector / 3 % 3);
                ShardState s = decode_state(a, 1 + selector / 9 % 4, data, size);
                // a state that decodes must also survive use
                Options o;
                o.l2 = 1.0;
                (void)fit_model(a, o, {s});
                (void)encode_state(a, s);
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
                (void)parse_options(static_cast<Algorithm>(1 + selector / 3 % 3), raw);
            }
        }
    } catch (const Error &) {
    }
    return 0;
}

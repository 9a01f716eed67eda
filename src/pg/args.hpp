// Reading SQL arguments into C++ values; NULL where a value is required is an error.
#pragma once

#include <string>
#include <vector>

#include "guard.hpp"

namespace unlearn::pg {

std::string text_arg(FunctionCallInfo fcinfo, int n, const char *what);
std::vector<std::string> text_array_arg(FunctionCallInfo fcinfo, int n, const char *what);
std::vector<AttrNumber> int2_array_arg(FunctionCallInfo fcinfo, int n, const char *what);
int32 int4_arg(FunctionCallInfo fcinfo, int n, const char *what);
std::string jsonb_arg_text(FunctionCallInfo fcinfo, int n, const char *what);
void require_arg(FunctionCallInfo fcinfo, int n, const char *what);

}  // namespace unlearn::pg

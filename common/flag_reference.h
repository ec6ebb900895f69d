// The reference of a tool, rendered from its flag table: the one source for
// --help-format's Markdown page, man page, shell completions and JSON.
#pragma once

#include <string>
#include <string_view>

#include "common/config.h"
#include "common/status.h"

namespace initkit {

/// Renders `spec` (with the common flags) as `format`:
///  - "markdown": docs/reference/<tool>.md
///  - "man":      docs/man/<tool>.1 (man(7) macros, ASCII only)
///  - "bash":     a completion function plus `complete -F` for the tool
///  - "zsh":      a #compdef file (_<tool>)
///  - "fish":     `complete -c` lines (<tool>.fish)
///  - "json":     the flag table itself, for tests and tooling
/// Each flag entry gives the flag, its environment variable, the *_FILE
/// forms of credentials, the default, the accepted values and the help.
/// Output depends on nothing but the table (no date, no commit), so the
/// committed files can be compared with what the binaries print. An unknown
/// format is a Usage error listing the known ones.
Status RenderReference(const ToolSpec& spec, std::string_view format, std::string* out);

}  // namespace initkit

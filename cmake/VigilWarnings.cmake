# One INTERFACE target carries the warnings and instrumentation; every vigil
# target links it. Nothing is added to global flags.
add_library(vigil_warnings INTERFACE)
target_compile_options(vigil_warnings INTERFACE
  -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
  -Wformat=2 -Wvla -Wno-format-nonliteral)
target_compile_definitions(vigil_warnings INTERFACE _POSIX_C_SOURCE=200809L)

if(VG_SANITIZE)
  target_compile_options(vigil_warnings INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
  target_link_options(vigil_warnings INTERFACE -fsanitize=address,undefined)
endif()

if(VG_TSAN)
  target_compile_options(vigil_warnings INTERFACE -fsanitize=thread -fno-omit-frame-pointer -g)
  target_link_options(vigil_warnings INTERFACE -fsanitize=thread)
endif()

if(VG_FUZZ)
  target_compile_options(vigil_warnings INTERFACE -fsanitize=fuzzer-no-link,address,undefined -g)
  target_link_options(vigil_warnings INTERFACE -fsanitize=address,undefined)
endif()

# The generated protobuf-c code is not ours to warn about; it gets a
# relaxed interface of its own.
add_library(vigil_generated_flags INTERFACE)
if(VG_SANITIZE)
  target_compile_options(vigil_generated_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer -g)
  target_link_options(vigil_generated_flags INTERFACE -fsanitize=address,undefined)
endif()
if(VG_TSAN)
  target_compile_options(vigil_generated_flags INTERFACE -fsanitize=thread -g)
  target_link_options(vigil_generated_flags INTERFACE -fsanitize=thread)
endif()
if(VG_FUZZ)
  target_compile_options(vigil_generated_flags INTERFACE -fsanitize=fuzzer-no-link,address,undefined -g)
endif()

# Build options. Sanitizers and fuzzing are options, never global flags set
# by hand: every target gets them through vigil_warnings (VigilWarnings.cmake).
option(VG_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(VG_TSAN "Build with ThreadSanitizer (the tsan preset runs the tests labelled threads)" OFF)
option(VG_FUZZ "Build libFuzzer targets (needs clang)" OFF)
option(VG_BUILD_TESTS "Build the test suite" ON)
option(VG_BROWSER_TESTS "Register the web console's browser tests (chromium, npm)" ON)

# The suite-wide credential leak scan (issue #9). Included from the tests
# block of the root CMakeLists.txt.
#
# Every test gets TEST_INITKIT_CREDENTIALS (the registry the fakes append
# each credential they generate or accept to) and TEST_INITKIT_OUTPUT_LOG
# (where RunBinary appends every tool's output). credential_registry_reset
# empties both first (FIXTURES_SETUP); credential_leak_scan runs after every
# other test (FIXTURES_CLEANUP) and fails if any registered credential shows
# up in those outputs or in CTest's own capture of every test binary
# (Testing/Temporary/LastTest.log.tmp while CTest runs).
set(INITKIT_CRED_DIR ${CMAKE_BINARY_DIR}/Testing/Temporary)
set(INITKIT_CRED_REGISTRY ${INITKIT_CRED_DIR}/initkit-credentials.reg)
set(INITKIT_CRED_OUTPUT_LOG ${INITKIT_CRED_DIR}/initkit-tool-output.log)

add_executable(credential_leak_scan ${CMAKE_CURRENT_LIST_DIR}/credential_leak_scan_main.cc)
target_link_libraries(credential_leak_scan PRIVATE initkit_fakes)

add_test(NAME credential_registry_reset
         COMMAND ${CMAKE_COMMAND} -E rm -f ${INITKIT_CRED_REGISTRY} ${INITKIT_CRED_OUTPUT_LOG})
set_tests_properties(credential_registry_reset PROPERTIES FIXTURES_SETUP initkit_credentials)
add_test(NAME credential_leak_scan
         COMMAND credential_leak_scan --registry ${INITKIT_CRED_REGISTRY}
                 --scan ${INITKIT_CRED_OUTPUT_LOG} --scan ${INITKIT_CRED_DIR}/LastTest.log.tmp)
set_tests_properties(credential_leak_scan PROPERTIES FIXTURES_CLEANUP initkit_credentials
                                                     TIMEOUT 600)

# Deferred to the end of the root directory, so it also reaches tests that
# are added after this file is included. (Tests of subdirectories are not
# reached: CMake 3.25 cannot set test properties of another directory.)
function(initkit_credential_scan_all)
  get_property(tests DIRECTORY ${CMAKE_SOURCE_DIR} PROPERTY TESTS)
  foreach(t ${tests})
    if(t STREQUAL "credential_registry_reset" OR t STREQUAL "credential_leak_scan")
      continue()
    endif()
    set_property(TEST ${t} APPEND PROPERTY FIXTURES_REQUIRED initkit_credentials)
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT
                 "TEST_INITKIT_CREDENTIALS=${INITKIT_CRED_REGISTRY}"
                 "TEST_INITKIT_OUTPUT_LOG=${INITKIT_CRED_OUTPUT_LOG}")
  endforeach()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL initkit_credential_scan_all)
if(TARGET security_tests)
  add_dependencies(security_tests credential_leak_scan)  # its own tests run the scanner
endif()

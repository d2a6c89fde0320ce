# modelhost_add_plugin(<target> <sources>...)
#
# Builds a modelhost plugin: a MODULE library linked to ModelHost::sdk, compiled with hidden
# visibility and linked with a version script, so `mh_plugin_get` is its only exported symbol.
function(modelhost_add_plugin target)
  add_library(${target} MODULE ${ARGN})
  if(TARGET ModelHost::sdk)
    target_link_libraries(${target} PRIVATE ModelHost::sdk)
  else()
    target_link_libraries(${target} PRIVATE mh_sdk)
  endif()
  set_target_properties(${target} PROPERTIES PREFIX "lib" C_VISIBILITY_PRESET hidden
                                             CXX_VISIBILITY_PRESET hidden
                                             VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${target} PRIVATE "LINKER:--version-script=${MODELHOST_PLUGIN_EXPORTS_MAP}"
                      "LINKER:--no-undefined")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${MODELHOST_PLUGIN_EXPORTS_MAP}")
  # In the modelhost tree every plugin lands in one folder, which hostd searches (--plugin-dir).
  if(DEFINED MODELHOST_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${MODELHOST_PLUGIN_OUTPUT_DIR}")
  endif()
endfunction()

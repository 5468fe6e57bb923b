# liteipc_add_interface(TARGET FILE [LANGUAGES CXX])
#
# Runs liteipc-idl on FILE (an OpenHarmony .idl) and makes TARGET, a static library of the
# generated interface class, proxy and stub, linked to liteipc::liteipc. The generated files go to
# the build tree (${CMAKE_CURRENT_BINARY_DIR}/TARGET), never the source tree; TARGET's users see
# them as "<file name in snake case>.h" (IGreeter.idl -> igreeter.h). docs/IDL.md shows the use.
function(liteipc_add_interface target file)
  cmake_parse_arguments(PARSE_ARGV 2 ARG "" "" "LANGUAGES")
  if(NOT ARG_LANGUAGES)
    set(ARG_LANGUAGES CXX)
  endif()
  foreach(language IN LISTS ARG_LANGUAGES)
    if(NOT language STREQUAL "CXX")
      message(FATAL_ERROR "liteipc_add_interface(${target}): LANGUAGES ${language}: liteipc-idl generates CXX")
    endif()
  endforeach()
  get_filename_component(idl "${file}" ABSOLUTE)
  if(NOT EXISTS "${idl}")
    message(FATAL_ERROR "liteipc_add_interface(${target}): no file ${idl}")
  endif()
  # The tool's rule for file names: a '_' where a lower case letter or digit meets an upper case one.
  get_filename_component(stem "${idl}" NAME_WE)
  string(REGEX REPLACE "([a-z0-9])([A-Z])" "\\1_\\2" base "${stem}")
  string(TOLOWER "${base}" base)
  if(TARGET liteipc-idl)
    set(tool $<TARGET_FILE:liteipc-idl>)  # this project's build
  else()
    set(tool liteipc::liteipc-idl)        # the installed package
  endif()
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${target}")
  add_custom_command(
    OUTPUT "${out}/${base}.h" "${out}/${base}.cpp"
    COMMAND ${tool} --out "${out}" "${idl}"
    DEPENDS "${idl}" ${tool}
    COMMENT "liteipc-idl ${stem}.idl"
    VERBATIM)
  add_library(${target} STATIC "${out}/${base}.h" "${out}/${base}.cpp")
  target_include_directories(${target} PUBLIC "${out}")
  target_link_libraries(${target} PUBLIC liteipc::liteipc)
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

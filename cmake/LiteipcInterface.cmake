# liteipc_add_interface(TARGET FILE [LANGUAGES CXX C] [VERSIONS DIR] [TOPIC])
#
# Runs liteipc-idl on FILE (an OpenHarmony .idl) and makes TARGET, a static library of the
# generated proxy and stub: in C++ (the default) the interface class, proxy and stub over
# liteipc::liteipc; in C the interface struct, proxy and stub over the newer C API
# (liteipc::skeleton). The generated files go to the build tree (${CMAKE_CURRENT_BINARY_DIR}/TARGET),
# never the source tree; TARGET's users see them as "<file name in snake case>.h" (C++) and
# "<...>_c.h" (C): IGreeter.idl -> igreeter.h, igreeter_c.h. VERSIONS names the frozen versions
# (liteipc-idl --freeze DIR): the code then names its line's contract, which the kernel checks at
# connect, and the build fails when FILE breaks its last frozen version. TOPIC (C++) adds the classes
# that carry an all-oneway interface on a topic (liteipc-idl --topic). docs/IDL.md shows the use.
function(liteipc_add_interface target file)
  cmake_parse_arguments(PARSE_ARGV 2 ARG "TOPIC" "VERSIONS" "LANGUAGES")
  if(NOT ARG_LANGUAGES)
    set(ARG_LANGUAGES CXX)
  endif()
  foreach(language IN LISTS ARG_LANGUAGES)
    if(NOT language MATCHES "^(CXX|C)$")
      message(FATAL_ERROR "liteipc_add_interface(${target}): LANGUAGES ${language}: liteipc-idl generates CXX and C")
    endif()
  endforeach()
  list(JOIN ARG_LANGUAGES "," languages)
  set(versions)
  set(topic)
  if(ARG_TOPIC)
    set(topic --topic)
  endif()
  set(frozen)
  if(ARG_VERSIONS)
    get_filename_component(versions_dir "${ARG_VERSIONS}" ABSOLUTE)
    set(versions --versions "${versions_dir}")
    file(GLOB_RECURSE frozen CONFIGURE_DEPENDS "${versions_dir}/*.idl")
  endif()
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
  set(generated)
  if("CXX" IN_LIST ARG_LANGUAGES)
    list(APPEND generated "${out}/${base}.h" "${out}/${base}.cpp")
  endif()
  if("C" IN_LIST ARG_LANGUAGES)
    list(APPEND generated "${out}/${base}_c.h" "${out}/${base}_proxy.c" "${out}/${base}_stub.c")
  endif()
  add_custom_command(
    OUTPUT ${generated}
    COMMAND ${tool} --languages ${languages} ${versions} ${topic} --out "${out}" "${idl}"
    DEPENDS "${idl}" ${tool} ${frozen}
    COMMENT "liteipc-idl ${stem}.idl (${languages})"
    VERBATIM)
  add_library(${target} STATIC ${generated})
  target_include_directories(${target} PUBLIC "${out}")
  # The newer C API first: its SendRequest is the one a C program of this interface means.
  if("C" IN_LIST ARG_LANGUAGES)
    target_link_libraries(${target} PUBLIC liteipc::skeleton)
  endif()
  if("CXX" IN_LIST ARG_LANGUAGES)
    target_link_libraries(${target} PUBLIC liteipc::liteipc)
  endif()
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

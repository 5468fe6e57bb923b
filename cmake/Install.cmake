# Install rules beyond the targets themselves: the CMake package (export set, config, version),
# pkg-config metadata and the loader's systemd unit. The library, headers, loader and CLI are
# installed next to their targets.
include(CMakePackageConfigHelpers)

set(LITEIPC_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/liteipc"
    CACHE STRING "Where the liteipc CMake package goes (relative to the prefix)")
set(LITEIPC_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
    CACHE STRING "Where liteipc.pc goes (relative to the prefix)")
set(LITEIPC_SYSTEMD_UNIT_DIR "lib/systemd/system"
    CACHE STRING "Where liteipc-loader.service goes (relative to the prefix, or absolute)")

# Installed programs find the installed library next to them, also under a prefix that is not
# in the loader's search path (ld.so.conf); an absolute libdir is used as it is.
function(liteipc_install_rpath target bindir)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${bindir}")
    set(rpath "${CMAKE_INSTALL_FULL_LIBDIR}")
  else()
    file(RELATIVE_PATH to_lib "/prefix/${bindir}" "/prefix/${CMAKE_INSTALL_LIBDIR}")
    set(rpath "$ORIGIN/${to_lib}")
  endif()
  set_target_properties(${target} PROPERTIES INSTALL_RPATH "${rpath}")
endfunction()
liteipc_install_rpath(liteipc-cli "${CMAKE_INSTALL_BINDIR}")
liteipc_install_rpath(liteipc-loader "${CMAKE_INSTALL_SBINDIR}")

# CMake package: liteipc::liteipc, found with find_package(liteipc CONFIG).
install(EXPORT liteipcTargets
        NAMESPACE liteipc::
        FILE liteipcTargets.cmake
        DESTINATION ${LITEIPC_INSTALL_CMAKEDIR})
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/liteipcConfig.cmake.in
  ${PROJECT_BINARY_DIR}/liteipcConfig.cmake
  INSTALL_DESTINATION ${LITEIPC_INSTALL_CMAKEDIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
# 0.x: a minor release may change the ABI (SOVERSION follows), so only the same minor matches.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/liteipcConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/liteipcConfig.cmake ${PROJECT_BINARY_DIR}/liteipcConfigVersion.cmake
        DESTINATION ${LITEIPC_INSTALL_CMAKEDIR})

# pkg-config: prefix is found relative to the .pc file, so `cmake --install --prefix` relocates it.
function(liteipc_pc_path out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "\${prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()
if(IS_ABSOLUTE "${LITEIPC_INSTALL_PKGCONFIGDIR}")
  message(FATAL_ERROR "LITEIPC_INSTALL_PKGCONFIGDIR must be relative to the install prefix, "
                      "got ${LITEIPC_INSTALL_PKGCONFIGDIR}")
endif()
file(RELATIVE_PATH LITEIPC_PC_RELATIVE_PREFIX "/prefix/${LITEIPC_INSTALL_PKGCONFIGDIR}" "/prefix")
string(REGEX REPLACE "/$" "" LITEIPC_PC_RELATIVE_PREFIX "${LITEIPC_PC_RELATIVE_PREFIX}")
liteipc_pc_path(LITEIPC_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
liteipc_pc_path(LITEIPC_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/liteipc.pc.in ${PROJECT_BINARY_DIR}/liteipc.pc @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/cmake/liteipc-skeleton.pc.in ${PROJECT_BINARY_DIR}/liteipc-skeleton.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/liteipc.pc ${PROJECT_BINARY_DIR}/liteipc-skeleton.pc
        DESTINATION ${LITEIPC_INSTALL_PKGCONFIGDIR})

# systemd: the unit runs the loader from the configured sbindir.
configure_file(${PROJECT_SOURCE_DIR}/packaging/liteipc-loader.service.in
               ${PROJECT_BINARY_DIR}/liteipc-loader.service @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/liteipc-loader.service DESTINATION ${LITEIPC_SYSTEMD_UNIT_DIR})

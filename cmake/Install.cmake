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

# Installed programs and libraries find the installed libraries: in a system library directory
# (/usr/lib/<multiarch>, as the Debian packages install) through the dynamic loader's own search
# path, with no RUNPATH; under any other prefix through a RUNPATH relative to themselves ($ORIGIN),
# so `cmake --install --prefix` relocates. An absolute libdir is used as it is.
set(LITEIPC_SYSTEM_LIBDIRS ${CMAKE_PLATFORM_IMPLICIT_LINK_DIRECTORIES} ${CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES})
list(FIND LITEIPC_SYSTEM_LIBDIRS "${CMAKE_INSTALL_FULL_LIBDIR}" LITEIPC_LIBDIR_IS_SYSTEM)
function(liteipc_install_rpath target from_dir)
  if(LITEIPC_LIBDIR_IS_SYSTEM GREATER -1)
    return()
  elseif(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${from_dir}")
    set(rpath "${CMAKE_INSTALL_FULL_LIBDIR}")
  else()
    file(RELATIVE_PATH to_lib "/prefix/${from_dir}" "/prefix/${CMAKE_INSTALL_LIBDIR}")
    string(REGEX REPLACE "/$" "" rpath "$ORIGIN/${to_lib}")
  endif()
  set_target_properties(${target} PROPERTIES INSTALL_RPATH "${rpath}")
endfunction()
liteipc_install_rpath(liteipc-cli "${CMAKE_INSTALL_BINDIR}")
liteipc_install_rpath(liteipc-bridge "${CMAKE_INSTALL_BINDIR}")
liteipc_install_rpath(liteipc-loader "${CMAKE_INSTALL_SBINDIR}")
# libliteipc_skeleton needs libliteipc, which lies beside it.
liteipc_install_rpath(liteipc_skeleton "${CMAKE_INSTALL_LIBDIR}")

# CMake package: liteipc::liteipc, found with find_package(liteipc CONFIG).
install(EXPORT liteipcTargets
        NAMESPACE liteipc::
        FILE liteipcTargets.cmake
        DESTINATION ${LITEIPC_INSTALL_CMAKEDIR} COMPONENT dev)
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
        DESTINATION ${LITEIPC_INSTALL_CMAKEDIR} COMPONENT dev)

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
configure_file(${PROJECT_SOURCE_DIR}/cmake/liteipc-cxx.pc.in ${PROJECT_BINARY_DIR}/liteipc-cxx.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/liteipc.pc ${PROJECT_BINARY_DIR}/liteipc-skeleton.pc ${PROJECT_BINARY_DIR}/liteipc-cxx.pc
        DESTINATION ${LITEIPC_INSTALL_PKGCONFIGDIR} COMPONENT dev)

# systemd: the unit runs the loader from the configured sbindir. The loader reads
# /etc/liteipc/loader.conf unless told otherwise: under another sysconfdir (/usr/local/etc for a
# /usr/local install) the unit names the config installed there.
set(LITEIPC_LOADER_CONFIG "${CMAKE_INSTALL_FULL_SYSCONFDIR}/liteipc/loader.conf")
if(LITEIPC_LOADER_CONFIG STREQUAL "/etc/liteipc/loader.conf")
  set(LITEIPC_LOADER_CONFIG_OPTION "")
else()
  set(LITEIPC_LOADER_CONFIG_OPTION " --config ${LITEIPC_LOADER_CONFIG}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/packaging/liteipc-loader.service.in
               ${PROJECT_BINARY_DIR}/liteipc-loader.service @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/liteipc-loader.service DESTINATION ${LITEIPC_SYSTEMD_UNIT_DIR} COMPONENT daemon)
# The loader's quotas and name ownership policy, with every default written out.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/loader.conf DESTINATION ${CMAKE_INSTALL_SYSCONFDIR}/liteipc
        COMPONENT daemon)

# Manual pages: every page in docs/man, the version filled in, into the section its name ends with.
file(GLOB LITEIPC_MAN_PAGES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/man/*.[1-9])
foreach(source ${LITEIPC_MAN_PAGES})
  get_filename_component(page "${source}" NAME)
  string(REGEX REPLACE ".*\\.([1-9])$" "\\1" section "${page}")
  set(VERSION ${PROJECT_VERSION})
  configure_file(${source} ${PROJECT_BINARY_DIR}/man/${page} @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/man/${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section} COMPONENT daemon)
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/packaging/liteipc.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME liteipc COMPONENT daemon)

# Host setup that `systemctl enable --now liteipc-loader` needs beyond the loader itself: the
# group (sysusers.d), the runtime directory (tmpfiles.d) and the mounts and hugepage reservation
# (liteipc-setup-host, run by the unit before the loader).
set(LITEIPC_SYSUSERS_DIR "lib/sysusers.d" CACHE STRING "Where sysusers.d files go (relative to the prefix)")
set(LITEIPC_TMPFILES_DIR "lib/tmpfiles.d" CACHE STRING "Where tmpfiles.d files go (relative to the prefix)")
install(FILES ${PROJECT_SOURCE_DIR}/packaging/liteipc.sysusers DESTINATION ${LITEIPC_SYSUSERS_DIR}
        RENAME liteipc.conf COMPONENT daemon)
# liteipc-bridge (src/bridge): its unit beside the loader's, its user, and the config the unit reads
# (an example to edit: its peers and certificates are placeholders).
install(FILES ${PROJECT_BINARY_DIR}/liteipc-bridge.service DESTINATION ${LITEIPC_SYSTEMD_UNIT_DIR} COMPONENT daemon)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/liteipc-bridge.sysusers DESTINATION ${LITEIPC_SYSUSERS_DIR}
        RENAME liteipc-bridge.conf COMPONENT daemon)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/bridge.json DESTINATION ${CMAKE_INSTALL_SYSCONFDIR}/liteipc COMPONENT daemon)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/liteipc.tmpfiles DESTINATION ${LITEIPC_TMPFILES_DIR}
        RENAME liteipc.conf COMPONENT daemon)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/setup-env.sh DESTINATION ${CMAKE_INSTALL_SBINDIR}
        RENAME liteipc-setup-host COMPONENT daemon)

# make uninstall: removes what the last install wrote (install_manifest.txt).
add_custom_target(uninstall
  COMMAND ${CMAKE_COMMAND} -DMANIFEST=${PROJECT_BINARY_DIR}/install_manifest.txt
          -P ${PROJECT_SOURCE_DIR}/cmake/Uninstall.cmake
  COMMENT "Removing the files listed in install_manifest.txt")

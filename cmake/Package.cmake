# Debian packages with CPack: `cpack -G DEB` in the build directory (or `make package`) writes
#   liteipc          the loader, its unit, host setup, the CLI, man pages, completion
#   libliteipc0      the shared library
#   libliteipc-dev   headers, CMake package, pkg-config file
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME liteipc)
set(CPACK_PACKAGE_VENDOR liteipc)
set(CPACK_PACKAGE_CONTACT "liteipc maintainers <liteipc@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "LiteIPC for Linux: IPC with an eBPF kernel plane")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL daemon runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The loader and CLI need the library this very build packages (libliteipc0).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR}/src/runtime)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_DAEMON_PACKAGE_NAME liteipc)
set(CPACK_DEBIAN_DAEMON_PACKAGE_DEPENDS "libliteipc0 (= ${PROJECT_VERSION}), systemd")
set(CPACK_DEBIAN_DAEMON_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/packaging/debian/postinst;${PROJECT_SOURCE_DIR}/packaging/debian/prerm")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libliteipc0)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libliteipc-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libliteipc0 (= ${PROJECT_VERSION})")
set(CPACK_COMPONENT_DAEMON_DESCRIPTION "liteipc-loader (root daemon, BPF kernel plane) and the liteipc CLI")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "libliteipc: the library services and clients link")
set(CPACK_COMPONENT_DEV_DESCRIPTION "libliteipc development files: C++ and LiteIPC C headers, CMake and pkg-config")
include(CPack)

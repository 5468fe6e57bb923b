# bpf_object(name source): compiles a CO-RE BPF program with clang and generates its skeleton
# with bpftool; yields the interface target <name>_skel that puts <name>.skel.h and the headers
# beside the source on the include path. Include this file from the top level: every directory
# may then call bpf_object(), and all share one vmlinux.h.

find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin)
if(NOT BPF_CLANG)
  message(FATAL_ERROR "clang not found: BPF programs need it. Fix: apt-get install clang llvm (or run scripts/deps.sh)")
endif()
if(NOT BPFTOOL)
  message(FATAL_ERROR "bpftool not found: it generates vmlinux.h and the skeletons. Fix: apt-get install bpftool (or run scripts/deps.sh)")
endif()
execute_process(COMMAND ${BPF_CLANG} --version OUTPUT_VARIABLE _clang_version)
string(REGEX MATCH "version ([0-9]+)" _ ${_clang_version})
if(CMAKE_MATCH_1 LESS 12)
  message(FATAL_ERROR "clang ${CMAKE_MATCH_1} is too old for CO-RE BPF (need >= 12). Fix: apt-get install clang-14")
endif()

set(LITEIPC_VMLINUX_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH "Kernel BTF used to generate vmlinux.h")
if(NOT EXISTS ${LITEIPC_VMLINUX_BTF})
  message(FATAL_ERROR "${LITEIPC_VMLINUX_BTF} is missing: the kernel has no BTF. Fix: boot a kernel built with CONFIG_DEBUG_INFO_BTF=y, or pass -DLITEIPC_VMLINUX_BTF=<path to a BTF file>")
endif()

pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET GLOBAL libbpf>=1.0)

set(BPF_GEN_DIR ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${BPF_GEN_DIR})

# vmlinux.h is generated from this kernel's BTF, so it is never stale and never checked in.
add_custom_command(
  OUTPUT ${BPF_GEN_DIR}/vmlinux.h
  COMMAND ${BPFTOOL} btf dump file ${LITEIPC_VMLINUX_BTF} format c > ${BPF_GEN_DIR}/vmlinux.h.tmp
  COMMAND ${CMAKE_COMMAND} -E rename ${BPF_GEN_DIR}/vmlinux.h.tmp ${BPF_GEN_DIR}/vmlinux.h
  DEPENDS ${LITEIPC_VMLINUX_BTF}
  COMMENT "Generating vmlinux.h from ${LITEIPC_VMLINUX_BTF}")
# A target, so that BPF objects in other directories can be ordered after it.
add_custom_target(bpf_vmlinux_h DEPENDS ${BPF_GEN_DIR}/vmlinux.h)

function(bpf_object name source)
  get_filename_component(_src_dir ${source} DIRECTORY)
  file(GLOB _headers CONFIGURE_DEPENDS ${_src_dir}/*.h)
  set(_obj ${BPF_GEN_DIR}/${name}.bpf.o)
  set(_skel ${BPF_GEN_DIR}/${name}.skel.h)
  add_custom_command(
    OUTPUT ${_obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror
            -I${BPF_GEN_DIR} -I${_src_dir} -c ${source} -o ${_obj}
    DEPENDS ${source} ${_headers} ${BPF_GEN_DIR}/vmlinux.h
    COMMENT "Compiling BPF object ${name}.bpf.o")
  add_custom_command(
    OUTPUT ${_skel}
    COMMAND ${BPFTOOL} gen skeleton ${_obj} name ${name}_bpf > ${_skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${_skel}.tmp ${_skel}
    DEPENDS ${_obj}
    COMMENT "Generating skeleton ${name}.skel.h")
  add_custom_target(${name}_skel_gen DEPENDS ${_skel})
  add_dependencies(${name}_skel_gen bpf_vmlinux_h)
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${BPF_GEN_DIR} ${_src_dir})
  target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF)
endfunction()

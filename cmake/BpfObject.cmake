# SPDX-License-Identifier: Apache-2.0
# gprofiler_bpf_object(NAME SRC [HEADERS...]): compile bpf/NAME.bpf.c with
# clang -target bpf into NAME.bpf.o, generate NAME.skel.h with bpftool, and
# expose an INTERFACE target NAME_skel carrying the include dir. The shared
# headers are listed as DEPENDS so editing them rebuilds the object.
find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

set(GPROFILER_VMLINUX_H "" CACHE FILEPATH
    "Use this vmlinux.h instead of generating one from /sys/kernel/btf/vmlinux")
set(BPF_GEN_DIR ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${BPF_GEN_DIR})

if(GPROFILER_VMLINUX_H)
  set(VMLINUX_H ${GPROFILER_VMLINUX_H})
else()
  set(VMLINUX_H ${BPF_GEN_DIR}/vmlinux.h)
endif()

# Called once from the folder holding the BPF objects (custom command
# outputs are visible only in the folder that declares them).
function(gprofiler_vmlinux_h)
  if(NOT GPROFILER_VMLINUX_H)
    add_custom_command(OUTPUT ${VMLINUX_H}
      COMMAND ${BPFTOOL} btf dump file /sys/kernel/btf/vmlinux format c > ${VMLINUX_H}.tmp
      COMMAND ${CMAKE_COMMAND} -E rename ${VMLINUX_H}.tmp ${VMLINUX_H}
      COMMENT "Generating vmlinux.h from the running kernel's BTF")
  endif()
endfunction()

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|amd64")
  set(BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(BPF_ARCH arm64)
else()
  message(FATAL_ERROR "unsupported architecture ${CMAKE_SYSTEM_PROCESSOR}")
endif()

function(gprofiler_bpf_object name src)
  set(obj ${BPF_GEN_DIR}/${name}.bpf.o)
  set(skel ${BPF_GEN_DIR}/${name}.skel.h)
  get_filename_component(src_abs ${src} ABSOLUTE)
  get_filename_component(src_dir ${src_abs} DIRECTORY)
  set(deps)
  foreach(h ${ARGN})
    get_filename_component(h_abs ${h} ABSOLUTE)
    list(APPEND deps ${h_abs})
  endforeach()
  add_custom_command(OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_${BPF_ARCH}
            -I${BPF_GEN_DIR} -I${src_dir} -c ${src_abs} -o ${obj}
    DEPENDS ${src_abs} ${deps} ${VMLINUX_H}
    COMMENT "BPF ${name}.bpf.o")
  add_custom_command(OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
    DEPENDS ${obj}
    COMMENT "BPF skeleton ${name}.skel.h")
  add_custom_target(${name}_skel_gen DEPENDS ${skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${BPF_GEN_DIR} ${src_dir})
  target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF PkgConfig::LIBELF PkgConfig::ZLIB)
endfunction()

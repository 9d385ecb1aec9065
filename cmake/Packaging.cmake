# SPDX-License-Identifier: Apache-2.0
# The systemd service's install rules and the Debian package.
#
#   cmake --build build --target package      build/gprofiler_<version>_<arch>.deb
#   (or: cd build && cpack)
#
# The package holds everything `cmake --install` installs (the binary, the
# Java agent when it is built, and component "systemd": the unit and its
# root-only environment file, a conffile). Its Depends come from
# dpkg-shlibdeps over the packaged ELF files, so they follow what the binary
# really links. The unit is written at install time, so its ExecStart names
# the binary under the prefix actually installed to (/usr in the package).
# Maintainer scripts (deploy/debian/) only tell systemd about the unit, stop
# the service before removal and clean its state on purge.

set(GPROFILER_ENV_FILE /etc/gprofiler/gprofiler.env)
set(_gp_unit_in ${CMAKE_CURRENT_SOURCE_DIR}/deploy/systemd/gprofiler.service.in)
set(_gp_unit_out ${CMAKE_CURRENT_BINARY_DIR}/deploy/gprofiler.service)

install(CODE "
  set(GPROFILER_BIN \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/gprofiler\")
  set(GPROFILER_ENV_FILE \"${GPROFILER_ENV_FILE}\")
  configure_file(\"${_gp_unit_in}\" \"${_gp_unit_out}\" @ONLY)
  file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\"
       TYPE FILE FILES \"${_gp_unit_out}\")
" COMPONENT systemd)
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/deploy/systemd/gprofiler.env
        DESTINATION /etc/gprofiler
        PERMISSIONS OWNER_READ OWNER_WRITE
        COMPONENT systemd)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME gprofiler)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "gprofiler-c")
set(CPACK_PACKAGE_CONTACT "gprofiler-c maintainers <gprofiler-c@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "system-wide continuous CPU profiler, compatible with gProfiler")
set(CPACK_PACKAGE_DESCRIPTION
    "gprofiler samples every process on the host with eBPF (kernel and native
stacks) and the built-in Python and Java samplers, and writes gProfiler's
collapsed-stack files and HTML flamegraphs or uploads them. It takes the
gProfiler agent's command line. The gprofiler.service unit is installed but
not enabled: put the token in /etc/gprofiler/gprofiler.env first.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS ca-certificates)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_SOURCE_DIR}/deploy/debian/conffiles
    ${CMAKE_CURRENT_SOURCE_DIR}/deploy/debian/postinst
    ${CMAKE_CURRENT_SOURCE_DIR}/deploy/debian/prerm
    ${CMAKE_CURRENT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)

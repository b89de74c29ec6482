// Package archive packs release binaries, together with their README and
// LICENSE, into the archives people download: .tar.gz for unix-like
// targets and .zip for Windows, named the way GoReleaser users expect.
//
// The output is reproducible: the same inputs and options give the same
// bytes on every run and every machine. That lets a release be verified
// by building twice and comparing checksums, and it keeps checksums.txt
// stable when nothing changed. To get there every piece of metadata that
// would normally come from the build machine is pinned:
//
//   - entries are written sorted by their name inside the archive, not in
//     the caller's order, so reordering a file list cannot change a digest;
//   - every entry carries the same modification time (WithModTime, the
//     commit time in a release; the Unix epoch by default);
//   - owners are uid/gid 0 with empty user and group names;
//   - modes are normalised to 0755 for executables and 0644 otherwise,
//     unless File.Mode says otherwise;
//   - tar headers use the PAX format (plain USTAR blocks, with extended
//     records only for names USTAR cannot hold), gzip headers carry no
//     file name and a zero time, and the compression level is fixed;
//   - zip entries are deflated, carry the fixed time both as an MS-DOS
//     date and as an extended Unix timestamp, and store Unix mode bits so
//     that unzip restores the executable bit.
//
// Archives are written to a temporary file next to the destination and
// renamed into place, so a failed or cancelled run never leaves a partial
// archive behind.
package archive

import Glibc

/// What a file's metadata says of its content: the device and inode it is, its size and when it
/// was last written. A file written in place, or replaced by a rename, gets a different stamp;
/// what watches files for changes (rotated certificates) compares two.
public struct FileStamp: Hashable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modifiedSeconds: Int
    let modifiedNanoseconds: Int

    /// The stamp of the file at `path`; `nil` when it can't be read (missing, no permission).
    public static func of(_ path: String) -> FileStamp? {
        var status = Glibc.stat()
        // Follows symbolic links: a secret volume that swaps its link to new files changes the stamp.
        guard (try? blockingSyscall("fstatat", { fstatat(AT_FDCWD, path, &status, 0) })) != nil else { return nil }
        return FileStamp(
            device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: Int64(status.st_size),
            modifiedSeconds: status.st_mtim.tv_sec, modifiedNanoseconds: status.st_mtim.tv_nsec)
    }
}

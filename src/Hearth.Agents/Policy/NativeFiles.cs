using System.Runtime.InteropServices;

namespace Hearth.Agents.Policy;

/// <summary>What is at a path, without following a final symbolic link.</summary>
public enum FileKind
{
    /// <summary>Nothing.</summary>
    Missing,

    /// <summary>A regular file.</summary>
    File,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A symbolic link.</summary>
    SymbolicLink,

    /// <summary>A character or block device.</summary>
    Device,

    /// <summary>A named pipe (reading one blocks until someone writes).</summary>
    Fifo,

    /// <summary>A Unix domain socket.</summary>
    Socket,
}

/// <summary>
/// The few file-system facts .NET does not expose: the type of a file (device, FIFO, socket) and its hard-link count,
/// read with Linux <c>statx</c> (whose buffer layout is the same on every architecture), and syncing a directory so a
/// rename in it is durable. Elsewhere the type comes from file attributes and directory sync is skipped.
/// </summary>
internal static partial class NativeFiles
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const uint StatxNlink = 0x4;
    private const int StatxBufferBytes = 256;
    private const int StatxNlinkOffset = 16; // struct statx: u32 mask, u32 blksize, u64 attributes, u32 nlink ...
    private const int StatxModeOffset = 28; // ... u32 uid, u32 gid, u16 mode

    private static bool s_statxMissing;

    /// <summary>The kind of what is at <paramref name="path"/> (a final symbolic link is reported, not followed) and its hard-link count (1 when unknown).</summary>
    public static (FileKind Kind, uint Links) Probe(string path)
    {
        if (OperatingSystem.IsLinux() && !Volatile.Read(ref s_statxMissing))
        {
            try
            {
                return ProbeLinux(path);
            }
            catch (EntryPointNotFoundException)
            {
                Volatile.Write(ref s_statxMissing, true);
            }
        }

        return ProbeManaged(path);
    }

    private static unsafe (FileKind Kind, uint Links) ProbeLinux(string path)
    {
        byte* buffer = stackalloc byte[StatxBufferBytes];
        new Span<byte>(buffer, StatxBufferBytes).Clear();
        if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType | StatxNlink, buffer) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is 2 or 20) return (FileKind.Missing, 0); // ENOENT, ENOTDIR
            throw new IOException($"cannot inspect '{path}' (errno {errno})");
        }

        uint links = *(uint*)(buffer + StatxNlinkOffset);
        int mode = *(ushort*)(buffer + StatxModeOffset) & 0xF000;
        var kind = mode switch
        {
            0x8000 => FileKind.File,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.SymbolicLink,
            0x2000 or 0x6000 => FileKind.Device,
            0x1000 => FileKind.Fifo,
            0xC000 => FileKind.Socket,
            _ => FileKind.Device,
        };
        return (kind, links);
    }

    private static (FileKind Kind, uint Links) ProbeManaged(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists && !Directory.Exists(path)) return info.LinkTarget != null ? (FileKind.SymbolicLink, 1u) : (FileKind.Missing, 0u);
        var attributes = File.GetAttributes(path);
        if (attributes.HasFlag(FileAttributes.ReparsePoint)) return (FileKind.SymbolicLink, 1);
        if (attributes.HasFlag(FileAttributes.Directory)) return (FileKind.Directory, 1);
        if (attributes.HasFlag(FileAttributes.Device)) return (FileKind.Device, 1);
        return (FileKind.File, 1);
    }

    /// <summary>Flushes a directory's entries to disk (Linux and macOS), so a rename or create inside it survives a power
    /// cut; best effort elsewhere.</summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        int fd = Open(directory, 0); // O_RDONLY works for directories
        if (fd < 0) return;
        try
        {
            _ = FSync(fd);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirFd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}

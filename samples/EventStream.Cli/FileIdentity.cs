using System.Runtime.InteropServices;

namespace EventStream.Cli;

/// <summary>
/// Whether two paths name one file: after following symbolic links, and — on Linux, for files that exist — by device
/// and inode, so a hard link to the input is the input too. (Comparing path strings let `--output link-to-input`
/// truncate the input.)
/// </summary>
internal static partial class FileIdentity
{
    /// <summary>The path with every symbolic link on it followed (a dangling link gives its target's path).</summary>
    public static string Resolve(string fullPath)
    {
        try
        {
            return File.ResolveLinkTarget(fullPath, returnFinalTarget: true)?.FullName ?? fullPath;
        }
        catch (IOException)
        {
            return fullPath; // a link loop: the open will fail and say so
        }
    }

    /// <summary>Whether the two full paths name one file.</summary>
    public static bool Same(string a, string b, StringComparison comparison) =>
        string.Equals(Resolve(a), Resolve(b), comparison) || (Of(a) is { } x && Of(b) is { } y && x == y);

    /// <summary>The device and inode of an existing file (following links), on Linux; otherwise <see langword="null"/>.</summary>
    private static (ulong Device, ulong Inode)? Of(string path)
    {
        if (!OperatingSystem.IsLinux() || !(File.Exists(path) || Directory.Exists(path)))
        {
            return null;
        }

        // struct stat on 64-bit Linux starts with st_dev and st_ino, 8 bytes each; the buffer covers the whole struct.
        var buffer = new byte[256];
        return Stat(path, buffer) == 0 ? (BitConverter.ToUInt64(buffer, 0), BitConverter.ToUInt64(buffer, 8)) : null;
    }

    [DllImport("libc", EntryPoint = "stat", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code in this sample; one call per output at start-up.
    private static extern int Stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buffer);
#pragma warning restore SYSLIB1054
}

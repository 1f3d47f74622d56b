using System.Runtime.InteropServices;

namespace Regatta.Models;

/// <summary>
/// Arrays for whole blobs (tens to hundreds of MB). Memory fresh from the OS costs one page fault per 4 KiB page on
/// first touch: 25,000 faults for 100 MB, which in a virtual machine take longer than receiving and hashing the bytes.
/// On Linux the array's range is marked for transparent huge pages (madvise), so the same bytes fault 2 MiB at a time.
/// </summary>
public static class LargeArrays
{
    private const int HugePage = 2 << 20;
    private const int MadvHugePage = 14;

    /// <summary>An array whose contents are not zeroed: the caller writes every byte before anyone reads it.</summary>
    public static byte[] AllocateUninitialized(int length)
    {
        if (length < 4 * HugePage || !OperatingSystem.IsLinux()) return GC.AllocateUninitializedArray<byte>(length);
        var array = GC.AllocateUninitializedArray<byte>(length);
        // Large arrays do not move unless the GC is told to compact them; if one does, it only loses the advice.
        var pin = GCHandle.Alloc(array, GCHandleType.Pinned);
        var start = pin.AddrOfPinnedObject();
        pin.Free();
        var first = (start + HugePage - 1) & ~(nint)(HugePage - 1);
        var end = (start + length) & ~(nint)(HugePage - 1);
        if (end > first)
        {
            try { _ = madvise(first, (nuint)(end - first), MadvHugePage); }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { /* no libc madvise: 4 KiB pages */ }
        }
        return array;
    }

    // Only advice: a failure (a kernel without transparent huge pages) leaves the array on 4 KiB pages, which is correct.
    [DllImport("libc", SetLastError = true)]
    private static extern int madvise(nint address, nuint length, int advice);
}

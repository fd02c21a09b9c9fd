using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

/// <summary>
/// Sets VER_FLG_WEAK on the GLIBCXX_3.4.32 version requirement of every libLibTorchSharp.so below a
/// folder. Idempotent; the file is rewritten through a temporary copy so a hard link into the NuGet
/// cache is never modified.
/// </summary>
public class WeakenGlibcxxRequirement : Task
{
    [Required] public string Directory { get; set; } = "";

    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;
    private const string Target = "GLIBCXX_3.4.32";

    public override bool Execute()
    {
        if (!System.IO.Directory.Exists(Directory)) return true;
        foreach (var path in System.IO.Directory.GetFiles(Directory, "libLibTorchSharp.so", SearchOption.AllDirectories))
        {
            try
            {
                var bytes = File.ReadAllBytes(path);
                switch (Patch(bytes))
                {
                    case Outcome.Patched:
                        var tmp = path + ".patch.tmp";
                        File.WriteAllBytes(tmp, bytes);
                        File.Delete(path); // unlink first: never write through a hard link
                        File.Move(tmp, path);
                        Log.LogMessage(MessageImportance.Low, "Weakened " + Target + " requirement in " + path);
                        break;
                    case Outcome.AlreadyWeak:
                    case Outcome.NotRequired:
                        break;
                }
            }
            catch (Exception e)
            {
                Log.LogError("Could not patch " + path + ": " + e.Message);
            }
        }
        return !Log.HasLoggedErrors;
    }

    private enum Outcome { Patched, AlreadyWeak, NotRequired }

    private static Outcome Patch(byte[] b)
    {
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (b[4] != 2 || b[5] != 1) throw new InvalidDataException("expected a 64-bit little-endian ELF file");
        ulong shoff = BitConverter.ToUInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A);
        int shnum = BitConverter.ToUInt16(b, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            int sh = checked((int)shoff + i * shentsize);
            if (BitConverter.ToUInt32(b, sh + 4) != ShtGnuVerneed) continue;
            int offset = checked((int)BitConverter.ToUInt64(b, sh + 0x18));
            uint link = BitConverter.ToUInt32(b, sh + 0x28);
            uint count = BitConverter.ToUInt32(b, sh + 0x2C); // sh_info: number of Verneed entries
            int strtab = checked((int)BitConverter.ToUInt64(b, checked((int)shoff + (int)link * shentsize) + 0x18));
            int need = offset;
            for (uint n = 0; n < count; n++)
            {
                int auxCount = BitConverter.ToUInt16(b, need + 2);
                int aux = need + (int)BitConverter.ToUInt32(b, need + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    int name = strtab + (int)BitConverter.ToUInt32(b, aux + 8);
                    if (ReadCString(b, name) == Target)
                    {
                        ushort flags = BitConverter.ToUInt16(b, aux + 4);
                        if ((flags & VerFlgWeak) != 0) return Outcome.AlreadyWeak;
                        flags |= VerFlgWeak;
                        b[aux + 4] = (byte)(flags & 0xff);
                        b[aux + 5] = (byte)(flags >> 8);
                        return Outcome.Patched;
                    }
                    aux += (int)BitConverter.ToUInt32(b, aux + 12);
                }
                need += (int)BitConverter.ToUInt32(b, need + 12);
            }
        }
        return Outcome.NotRequired;
    }

    private static string ReadCString(byte[] b, int start)
    {
        int end = start;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, start, end - start);
    }
}

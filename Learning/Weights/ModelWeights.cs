using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Regatta.Learning.Weights;

/// <summary>One named float32 tensor, row-major.</summary>
public sealed record NamedTensor(string Name, int[] Shape, float[] Data)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// Model weights (or an update to them) as an ordered list of named float32 tensors.
/// Its canonical bytes are what a model version's SHA-256 is taken over.
/// </summary>
public sealed class ModelWeights
{
    // "RGW1": Regatta weights, format 1.
    private const uint Magic = 0x31574752;
    private const int MaxTensors = 4096;
    private const int MaxNameBytes = 256;
    private const int MaxRank = 8;

    public ModelWeights(IReadOnlyList<NamedTensor> tensors)
    {
        foreach (var t in tensors)
        {
            if (t.ElementCount != t.Data.Length)
                throw new ArgumentException($"tensor '{t.Name}': shape [{string.Join(',', t.Shape)}] holds {t.ElementCount} values but {t.Data.Length} were given");
        }
        Tensors = tensors;
    }

    public IReadOnlyList<NamedTensor> Tensors { get; }

    public long ParameterCount => Tensors.Sum(t => (long)t.Data.Length);

    /// <summary>All values in canonical order, as one vector.</summary>
    public float[] Flatten()
    {
        var flat = new float[ParameterCount];
        var offset = 0;
        foreach (var t in Tensors)
        {
            t.Data.CopyTo(flat, offset);
            offset += t.Data.Length;
        }
        return flat;
    }

    /// <summary>The same layout (names and shapes) filled from a flat vector.</summary>
    public ModelWeights WithValues(ReadOnlySpan<float> flat)
    {
        if (flat.Length != ParameterCount)
            throw new ArgumentException($"expected {ParameterCount} values, got {flat.Length}");
        var tensors = new List<NamedTensor>(Tensors.Count);
        var offset = 0;
        foreach (var t in Tensors)
        {
            tensors.Add(t with { Data = flat.Slice(offset, t.Data.Length).ToArray() });
            offset += t.Data.Length;
        }
        return new ModelWeights(tensors);
    }

    /// <summary>True when both have the same tensor names, order and shapes.</summary>
    public bool SameLayoutAs(ModelWeights other, out string? difference)
    {
        difference = null;
        if (other.Tensors.Count != Tensors.Count)
        {
            difference = $"expected {Tensors.Count} tensors, got {other.Tensors.Count}";
            return false;
        }
        for (var i = 0; i < Tensors.Count; i++)
        {
            var (a, b) = (Tensors[i], other.Tensors[i]);
            if (a.Name != b.Name)
            {
                difference = $"tensor {i}: expected name '{a.Name}', got '{b.Name}'";
                return false;
            }
            if (!a.Shape.AsSpan().SequenceEqual(b.Shape))
            {
                difference = $"tensor '{a.Name}': expected shape [{string.Join(',', a.Shape)}], got [{string.Join(',', b.Shape)}]";
                return false;
            }
        }
        return true;
    }

    /// <summary>Canonical encoding: magic, tensor count, then per tensor name, rank, dims and little-endian floats.</summary>
    public byte[] ToBytes()
    {
        var size = 8L;
        foreach (var t in Tensors)
            size += 4 + Encoding.UTF8.GetByteCount(t.Name) + 4 + 4L * t.Shape.Length + 4L * t.Data.Length;
        var bytes = new byte[size];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], Tensors.Count);
        var pos = 8;
        foreach (var t in Tensors)
        {
            var nameLength = Encoding.UTF8.GetBytes(t.Name, span[(pos + 4)..]);
            BinaryPrimitives.WriteInt32LittleEndian(span[pos..], nameLength);
            pos += 4 + nameLength;
            BinaryPrimitives.WriteInt32LittleEndian(span[pos..], t.Shape.Length);
            pos += 4;
            foreach (var d in t.Shape)
            {
                BinaryPrimitives.WriteInt32LittleEndian(span[pos..], d);
                pos += 4;
            }
            var data = System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Data.AsSpan());
            if (BitConverter.IsLittleEndian)
                data.CopyTo(span[pos..]);
            else
                for (var i = 0; i < t.Data.Length; i++)
                    BinaryPrimitives.WriteSingleLittleEndian(span[(pos + 4 * i)..], t.Data[i]);
            pos += data.Length;
        }
        return bytes;
    }

    /// <summary>Decodes canonical bytes, refusing anything malformed with a message that says what.</summary>
    public static ModelWeights FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 8 || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic)
            throw new InvalidDataException("not a Regatta weights blob (bad magic)");
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes[4..]);
        if (count is < 0 or > MaxTensors)
            throw new InvalidDataException($"tensor count {count} out of range");
        var pos = 8;
        var tensors = new List<NamedTensor>(count);
        for (var i = 0; i < count; i++)
        {
            var nameLength = ReadInt(bytes, ref pos, $"tensor {i} name length");
            if (nameLength is <= 0 or > MaxNameBytes || pos + nameLength > bytes.Length)
                throw new InvalidDataException($"tensor {i}: bad name length {nameLength}");
            var name = Encoding.UTF8.GetString(bytes.Slice(pos, nameLength));
            pos += nameLength;
            var rank = ReadInt(bytes, ref pos, $"tensor '{name}' rank");
            if (rank is < 0 or > MaxRank)
                throw new InvalidDataException($"tensor '{name}': rank {rank} out of range");
            var shape = new int[rank];
            long elements = 1;
            for (var d = 0; d < rank; d++)
            {
                shape[d] = ReadInt(bytes, ref pos, $"tensor '{name}' shape");
                if (shape[d] < 0) throw new InvalidDataException($"tensor '{name}': negative dimension");
                elements *= shape[d];
            }
            if (elements * 4 > bytes.Length - pos)
                throw new InvalidDataException($"tensor '{name}': truncated ({elements} values declared)");
            var data = new float[elements];
            var raw = bytes.Slice(pos, (int)(elements * 4));
            if (BitConverter.IsLittleEndian)
                raw.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
            else
                for (var k = 0; k < data.Length; k++)
                    data[k] = BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * k)..]);
            pos += raw.Length;
            tensors.Add(new NamedTensor(name, shape, data));
        }
        if (pos != bytes.Length)
            throw new InvalidDataException($"{bytes.Length - pos} trailing bytes after the last tensor");
        return new ModelWeights(tensors);
    }

    public static string Hash(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static int ReadInt(ReadOnlySpan<byte> bytes, ref int pos, string what)
    {
        if (pos + 4 > bytes.Length) throw new InvalidDataException($"truncated at {what}");
        var value = BinaryPrimitives.ReadInt32LittleEndian(bytes[pos..]);
        pos += 4;
        return value;
    }
}

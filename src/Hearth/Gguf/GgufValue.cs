using System.Globalization;

namespace Hearth.Gguf;

/// <summary>Metadata value types, numbered as in the GGUF specification.</summary>
public enum GgufValueType : uint
{
    UInt8 = 0,
    Int8 = 1,
    UInt16 = 2,
    Int16 = 3,
    UInt32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    UInt64 = 10,
    Int64 = 11,
    Float64 = 12,
}

/// <summary>
/// One metadata value. Scalars are boxed CLR values of the matching type (byte, sbyte, ushort, short, uint, int,
/// float, bool, string, ulong, long, double); arrays are <see cref="GgufArray"/>.
/// </summary>
public sealed class GgufValue
{
    public GgufValue(GgufValueType type, object value)
    {
        Type = type;
        Value = value;
    }

    public GgufValueType Type { get; }

    public object Value { get; }

    public GgufArray? AsArray => Value as GgufArray;

    public static GgufValue Of(string s) => new(GgufValueType.String, s);
    public static GgufValue Of(uint v) => new(GgufValueType.UInt32, v);
    public static GgufValue Of(int v) => new(GgufValueType.Int32, v);
    public static GgufValue Of(ulong v) => new(GgufValueType.UInt64, v);
    public static GgufValue Of(long v) => new(GgufValueType.Int64, v);
    public static GgufValue Of(float v) => new(GgufValueType.Float32, v);
    public static GgufValue Of(double v) => new(GgufValueType.Float64, v);
    public static GgufValue Of(bool v) => new(GgufValueType.Bool, v);
    public static GgufValue Of(byte v) => new(GgufValueType.UInt8, v);
    public static GgufValue Of(sbyte v) => new(GgufValueType.Int8, v);
    public static GgufValue Of(ushort v) => new(GgufValueType.UInt16, v);
    public static GgufValue Of(short v) => new(GgufValueType.Int16, v);
    public static GgufValue Of(GgufArray a) => new(GgufValueType.Array, a);

    /// <summary>True for the integer value types.</summary>
    public bool IsInteger => Type is GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.UInt16 or GgufValueType.Int16
        or GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.UInt64 or GgufValueType.Int64;

    /// <summary>The value as a 64-bit signed integer when it is any integer type that fits.</summary>
    public bool TryGetInt64(out long value)
    {
        switch (Value)
        {
            case byte b: value = b; return true;
            case sbyte sb: value = sb; return true;
            case ushort us: value = us; return true;
            case short s: value = s; return true;
            case uint ui: value = ui; return true;
            case int i: value = i; return true;
            case long l: value = l; return true;
            case ulong ul when ul <= long.MaxValue: value = (long)ul; return true;
            default: value = 0; return false;
        }
    }

    /// <summary>The value as a double when it is any numeric type.</summary>
    public bool TryGetDouble(out double value)
    {
        switch (Value)
        {
            case float f: value = f; return true;
            case double d: value = d; return true;
            case ulong ul: value = ul; return true;
            default:
                if (TryGetInt64(out var l)) { value = l; return true; }
                value = 0;
                return false;
        }
    }

    public override string ToString() => Value switch
    {
        string s => s,
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        GgufArray a => a.ToString(),
        _ => Convert.ToString(Value, CultureInfo.InvariantCulture) ?? "",
    };
}

/// <summary>
/// A metadata array. <see cref="Items"/> is a typed CLR array: byte[], sbyte[], ushort[], short[], uint[], int[], float[],
/// bool[], string[], ulong[], long[], double[], or GgufArray[] for nested arrays.
/// </summary>
public sealed class GgufArray
{
    public GgufArray(GgufValueType elementType, Array items)
    {
        ElementType = elementType;
        Items = items;
    }

    public GgufValueType ElementType { get; }

    public Array Items { get; }

    public int Count => Items.Length;

    public static GgufArray Of(string[] items) => new(GgufValueType.String, items);
    public static GgufArray Of(float[] items) => new(GgufValueType.Float32, items);
    public static GgufArray Of(int[] items) => new(GgufValueType.Int32, items);
    public static GgufArray Of(uint[] items) => new(GgufValueType.UInt32, items);
    public static GgufArray Of(bool[] items) => new(GgufValueType.Bool, items);
    public static GgufArray Of(GgufArray[] items) => new(GgufValueType.Array, items);

    /// <summary>Element i rendered as text.</summary>
    public string ItemToString(int i) => Items.GetValue(i) switch
    {
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        null => "",
        var o => Convert.ToString(o, CultureInfo.InvariantCulture) ?? "",
    };

    public override string ToString() => $"[{ElementType}; {Count}]";
}

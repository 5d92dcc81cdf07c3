using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using EventStream.Windowing;

namespace EventStream.Tests;

/// <summary>
/// The XML documentation file a shipped package puts into bin/ and the .nupkg holds the public surface only: the
/// compiler writes the docs of internal and private members too, and build/PublicDocs.targets filters them out.
/// </summary>
public partial class PackageDocsTests
{
    private static readonly Assembly Core = typeof(PipelineBuilder).Assembly;

    // The configuration this test was built in (Release in CI): the shipped projects' bin/ folder of the same one.
    private static readonly string Configuration =
        typeof(PackageDocsTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;

    public static TheoryData<string> CoreDocFiles => new()
    {
        // The copy next to the EventStream.Core.dll this test runs against: what a project referencing Core gets.
        Path.ChangeExtension(Core.Location, ".xml"),
        // The shipped project's own output, the file pack puts into lib/net10.0/.
        Path.Combine(Repository.Root, "src", "EventStream.Core", "bin", Configuration, "net10.0", "EventStream.Core.xml"),
    };

    [Theory]
    [MemberData(nameof(CoreDocFiles))]
    public void Every_entry_in_EventStream_Core_xml_documents_a_public_or_protected_member(string path)
    {
        var ids = LoadMemberIds(path, "EventStream.Core");
        var types = Core.GetTypes().ToDictionary(DocName);

        foreach (var id in ids)
        {
            var (kind, typeName, member, parameters) = Parse(id);
            var typeToCheck = kind == 'T' ? id[2..] : typeName;
            types.Should().ContainKey(typeToCheck, "{0} names a type of EventStream.Core", id);
            var type = types[typeToCheck];
            type.IsVisible.Should().BeTrue("{0} is in the documentation file, so {1} must be public", id, type);
            if (kind == 'T')
            {
                continue;
            }

            var visible = VisibleMembers(type, kind, member, parameters).ToList();
            visible.Should().NotBeEmpty("{0} is in the documentation file, so {1} must have a public or protected {2} of that name{3}", id, type, kind, parameters is null ? "" : $" and {parameters} parameters");
        }
    }

    [Theory]
    [MemberData(nameof(CoreDocFiles))]
    public void EventStream_Core_xml_keeps_the_public_surfaces_docs(string path)
    {
        var ids = LoadMemberIds(path, "EventStream.Core");

        ids.Should().Contain(
        [
            "T:EventStream.PipelineBuilder",
            "T:EventStream.WindowOptions`2",
            "T:EventStream.IEventPipeline`1",
            "P:EventStream.IEventPipeline`1.Name",
            "M:EventStream.IEventPipeline`1.WriteAsync(`0,System.Threading.CancellationToken)",
            "M:EventStream.Aggregates.Sum``1(System.Func{``0,System.Double})",
            "M:EventStream.Aggregates.Create``3(System.Func{``1},System.Func{``1,``0,``1},System.Func{``1,``1,``1},System.Func{``1,``2})",
            "T:Microsoft.Extensions.DependencyInjection.EventPipelineServiceCollectionExtensions",
        ]);
        // Every public type with docs keeps them (the compiler writes a T: entry for each documented type).
        ids.Where(i => i.StartsWith("T:", StringComparison.Ordinal)).Should().HaveCountGreaterThan(20);
    }

    [Theory]
    [MemberData(nameof(CoreDocFiles))]
    public void EventStream_Core_xml_leaves_out_the_docs_of_internals(string path)
    {
        var ids = LoadMemberIds(path, "EventStream.Core");

        // Internal types that have /// docs in src/EventStream.Core (Windowing/Runtime, Pipeline/Runtime).
        Type[] internals = [typeof(WindowEngine<,,,>), typeof(TimerBuckets<>), typeof(StageQueue<>), typeof(PipelineAssembler)];
        foreach (var type in internals)
        {
            type.IsVisible.Should().BeFalse();
            var name = DocName(type);
            ids.Should().NotContain(i => Documents(i, name), "neither {0} nor a member of it is public", name);
        }

        // An internal member of a public type, and an explicit implementation of an internal interface member.
        ids.Should().NotContain("P:EventStream.PipelineBuilder`2.Definition");
        ids.Should().NotContain(i => i.Contains("#IDeadLetterStore#AddPastCapacityAsync", StringComparison.Ordinal));
        ids.Should().NotContain("M:EventStream.IDeadLetterStore.AddPastCapacityAsync(EventStream.DeadLetterEntry)");
    }

    [Fact]
    public void Every_entry_in_EventStream_Core_xml_is_in_its_PublicAPI_files()
    {
        var path = Path.Combine(Repository.Root, "src", "EventStream.Core", "bin", Configuration, "net10.0", "EventStream.Core.xml");
        AssertEveryEntryIsInPublicApi(path, "EventStream.Core");
    }

    [Fact]
    public void EventStream_Redis_xml_holds_the_public_surface_only()
    {
        // This project does not reference EventStream.Redis, so its file is read from the Redis project's bin/, and
        // its public surface is the one the PublicAPI analyzer keeps in PublicAPI.*.txt.
        var path = Path.Combine(Repository.Root, "src", "EventStream.Redis", "bin", Configuration, "net10.0", "EventStream.Redis.xml");
        AssertEveryEntryIsInPublicApi(path, "EventStream.Redis");

        var ids = LoadMemberIds(path, "EventStream.Redis");
        ids.Should().Contain(
        [
            "T:EventStream.Redis.RedisDeadLetterStore",
            "M:EventStream.Redis.RedisDeadLetterStore.#ctor(StackExchange.Redis.IConnectionMultiplexer,EventStream.Redis.RedisDeadLetterStoreOptions)",
            "T:EventStream.Redis.RedisStreamSource`1",
            "T:Microsoft.Extensions.DependencyInjection.RedisEventPipelineExtensions",
        ]);
        // Internal (and one private nested) types that have /// docs in src/EventStream.Redis.
        foreach (var name in new[]
                 {
                     "EventStream.Redis.Partitions.PartitionStore", "EventStream.Redis.RedisKeys", "EventStream.Redis.Streams.ConsumerGroup",
                     "EventStream.Redis.Streams.StreamScripts", "Microsoft.Extensions.DependencyInjection.RedisEventPipelineExtensions.RedisStreamSourceService`1",
                 })
        {
            ids.Should().NotContain(i => Documents(i, name), "{0} is not public", name);
        }
    }

    [Fact]
    public void EventStream_AspNetCore_xml_holds_the_public_surface_only()
    {
        var path = Path.Combine(Repository.Root, "src", "EventStream.AspNetCore", "bin", Configuration, "net10.0", "EventStream.AspNetCore.xml");
        AssertEveryEntryIsInPublicApi(path, "EventStream.AspNetCore");

        var ids = LoadMemberIds(path, "EventStream.AspNetCore");
        ids.Should().Contain(["T:Microsoft.AspNetCore.Builder.EventIngestEndpointRouteBuilderExtensions", "T:EventStream.AspNetCore.EventIngestOptions`1"]);
        foreach (var name in new[] { "EventStream.AspNetCore.IngestDoor`1", "EventStream.AspNetCore.PackageJsonContext", "EventStream.AspNetCore.AppJson" })
        {
            ids.Should().NotContain(i => Documents(i, name), "{0} is not public", name);
        }
    }

    [Fact]
    public void EventStream_Testing_xml_holds_the_public_surface_only()
    {
        var path = Path.Combine(Repository.Root, "src", "EventStream.Testing", "bin", Configuration, "net10.0", "EventStream.Testing.xml");
        // A small surface (the driver, its options, the accounting check): some 30 entries, not the 50 of the other packages.
        AssertEveryEntryIsInPublicApi(path, "EventStream.Testing", atLeast: 20);

        var ids = LoadMemberIds(path, "EventStream.Testing", atLeast: 20);
        ids.Should().Contain(
        [
            "T:EventStream.Testing.PipelineTestDriver",
            "T:EventStream.Testing.PipelineTestDriver`2",
            "M:EventStream.Testing.PipelineTestDriver`2.AdvanceTimeAsync(System.TimeSpan)",
            "M:EventStream.Testing.PipelineAccounting.AssertBalanced(EventStream.PipelineMetrics,System.Int64)",
        ]);
        foreach (var name in new[] { "EventStream.Testing.DriverClock", "EventStream.Testing.Recorder", "EventStream.Testing.PipelineTestDriverDefaults" })
        {
            ids.Should().NotContain(i => Documents(i, name), "{0} is not public", name);
        }
    }

    // Whether the doc-ID is that of the type or of a member of it.
    private static bool Documents(string id, string type)
        => id.Length > 2 && (id[2..] == type || id[2..].StartsWith(type + ".", StringComparison.Ordinal));

    private static List<string> LoadMemberIds(string path, string assembly, int atLeast = 50)
    {
        File.Exists(path).Should().BeTrue("{0} is built", path);
        var doc = XDocument.Load(path);
        doc.Root!.Name.LocalName.Should().Be("doc");
        doc.Root.Element("assembly")?.Element("name")?.Value.Should().Be(assembly);
        var ids = doc.Root.Element("members")!.Elements("member").Select(m => (string)m.Attribute("name")!).ToList();
        ids.Should().HaveCountGreaterThan(atLeast, "the public surface of {0} is documented", assembly);
        return ids;
    }

    // "M:Ns.Type`1.Method``2(A,B{C,D})" -> ('M', "Ns.Type`1", "Method", 2): the member's name without its generic
    // arity, and its parameter count (null for a member written without parentheses, which has none or is a property).
    private static (char Kind, string Type, string Member, int? Parameters) Parse(string id)
    {
        var body = id[2..];
        int? parameters = null;
        var open = body.IndexOf('(', StringComparison.Ordinal);
        if (open >= 0)
        {
            var list = body[(open + 1)..body.LastIndexOf(')')];
            var depth = 0;
            parameters = 1;
            foreach (var c in list)
            {
                depth += c is '{' or '[' ? 1 : c is '}' or ']' ? -1 : 0;
                parameters += c == ',' && depth == 0 ? 1 : 0;
            }

            body = body[..open];
        }

        var tilde = body.IndexOf('~', StringComparison.Ordinal);
        body = tilde >= 0 ? body[..tilde] : body;
        var dot = body.LastIndexOf('.');
        var member = GenericArity().Replace(body[(dot + 1)..], "");
        return (id[0], body[..dot], member, parameters);
    }

    private static IEnumerable<MemberInfo> VisibleMembers(Type type, char kind, string name, int? parameters)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var clrName = name.Replace('#', '.');
        return kind switch
        {
            'M' when name == "#ctor" => type.GetConstructors(all)
                .Where(c => IsVisible(c) && c.GetParameters().Length == (parameters ?? 0)),
            'M' => type.GetMethods(all)
                .Where(m => m.Name == clrName && IsVisible(m) && m.GetParameters().Length == (parameters ?? 0)),
            'P' => type.GetProperties(all)
                .Where(p => p.Name == clrName && p.GetAccessors(nonPublic: true).Any(IsVisible) && p.GetIndexParameters().Length == (parameters ?? 0)),
            'F' => type.GetFields(all).Where(f => f.Name == clrName && (f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly)),
            'E' => type.GetEvents(all).Where(e => e.Name == clrName && e.AddMethod is { } add && IsVisible(add)),
            _ => [],
        };
    }

    private static bool IsVisible(MethodBase method) => method.IsPublic || method.IsFamily || method.IsFamilyOrAssembly;

    // The doc-ID name of a type: Ns.Outer.Inner`1 (reflection writes Ns.Outer+Inner`1).
    private static string DocName(Type type) => type.IsNested ? DocName(type.DeclaringType!) + "." + type.Name : type.FullName!;

    // Checks each entry against the PublicAPI analyzer's record of the project's public surface, by name: a type's
    // full name, a member's type and name (properties by their accessors, constructors by the type's own name).
    private static void AssertEveryEntryIsInPublicApi(string path, string assembly, int atLeast = 50)
    {
        var project = Path.Combine(Repository.Root, "src", assembly);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in new[] { "PublicAPI.Shipped.txt", "PublicAPI.Unshipped.txt" }.SelectMany(f => File.ReadAllLines(Path.Combine(project, f))))
        {
            if (line.Length == 0 || line.StartsWith('#') || line.StartsWith("*REMOVED*", StringComparison.Ordinal))
            {
                continue;
            }

            // "static EventStream.Aggregate.Sum<T>(System.Func<T, double>! value) -> ..." -> "EventStream.Aggregate.Sum"
            var entry = Modifiers().Replace(line.TrimStart('~'), "");
            entry = Accessor().Replace(ArityOfTypes(NameOnly(entry)), "");
            // The last part is a type (Ns.Type`2) when the line names a type, a member (Ns.Type.Method) otherwise.
            names.Add(entry);
            names.Add(GenericArity().Replace(entry, ""));
        }

        foreach (var id in LoadMemberIds(path, assembly, atLeast))
        {
            var (kind, type, member, _) = Parse(id);
            var expected = kind == 'T' ? id[2..]
                : member == "#ctor" ? type + "." + GenericArity().Replace(type[(type.LastIndexOf('.') + 1)..], "")
                : type + "." + member;
            names.Should().Contain(expected, "{0} is in {1}, so the PublicAPI files of {2} list it", id, Path.GetFileName(path), assembly);
        }
    }

    // "Ns.Type<TKey, TValue>.Method(int x) -> void" -> "Ns.Type<TKey, TValue>.Method": up to the parameters or the
    // first space outside the generic arguments.
    private static string NameOnly(string line)
    {
        var depth = 0;
        for (var i = 0; i < line.Length; i++)
        {
            depth += line[i] == '<' ? 1 : line[i] == '>' ? -1 : 0;
            if (line[i] == '(' || (line[i] == ' ' && depth == 0))
            {
                return line[..i];
            }
        }

        return line;
    }

    // "Ns.Type<TKey, TValue>.Inner<T>.Method<T>" -> "Ns.Type`2.Inner`1.Method`1": generic arguments written as the
    // doc-ID arity.
    private static string ArityOfTypes(string name)
    {
        var parts = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i <= name.Length; i++)
        {
            if (i == name.Length || (name[i] == '.' && depth == 0))
            {
                parts.Add(name[start..i]);
                start = i + 1;
                continue;
            }

            depth += name[i] == '<' ? 1 : name[i] == '>' ? -1 : 0;
        }

        return string.Join(".", parts.Select(p =>
        {
            var lt = p.IndexOf('<', StringComparison.Ordinal);
            return lt < 0 ? p : p[..lt] + "`" + (p[lt..].Count(c => c == ',') + 1);
        }));
    }


    [GeneratedRegex("``?[0-9]+$")]
    private static partial Regex GenericArity();

    [GeneratedRegex("^(?:(?:static|virtual|override|abstract|sealed|const|readonly|new|extern|event) )+")]
    private static partial Regex Modifiers();

    [GeneratedRegex(@"\.(?:get|set|init|add|remove)$")]
    private static partial Regex Accessor();
}

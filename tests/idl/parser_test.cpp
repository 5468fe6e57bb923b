// liteipc-idl's parser: OpenHarmony IDL as upstream's guide writes it, and a named error with
// its file:line:column for each way a file can be wrong.
#include <gtest/gtest.h>

#include "idl/cpp_generator.h"
#include "idl/parser.h"
#include "idl/versions.h"

namespace liteipc::idl {
namespace {

Document parsed(std::string_view text) {
    auto document = parse(text, "t.idl");
    EXPECT_TRUE(document) << document.error().describe();
    return document ? *document : Document{};
}

// The error for `text`, as printed.
std::string error_of(std::string_view text) {
    auto document = parse(text, "t.idl");
    EXPECT_FALSE(document) << "accepted:\n" << text;
    return document ? "" : document.error().describe();
}

TEST(IdlParser, ReadsTheGuidesExample) {
    // As upstream's guide writes them: no package, a sequenceable, a forward declaration, oneway.
    const Document doc = parsed(R"(
        sequenceable OHOS.IRemoteObject;
        interface OHOS.IIdlTestObserver;
        interface OHOS.IIdlTestService {
            int TestIntTransaction([in] int data);
            void TestStringTransaction([in] String data);
            void TestMapTransaction([in] Map<int, int> data);
            int TestArrayTransaction([in] String[] data);
            [oneway] void TestOneway([in] IIdlTestObserver observer);
        }
    )");
    EXPECT_EQ(qualified_name(doc.interface), "OHOS.IIdlTestService");
    ASSERT_EQ(doc.interface.methods.size(), 5u);
    EXPECT_EQ(doc.interface.methods[2].parameters[0].type.kind, TypeKind::map);
    EXPECT_EQ(doc.interface.methods[3].parameters[0].type.kind, TypeKind::array);
    EXPECT_TRUE(doc.interface.methods[4].oneway);
    EXPECT_EQ(doc.interface.methods[4].parameters[0].type.kind, TypeKind::interface);
    ASSERT_EQ(doc.sequenceables.size(), 1u);
    EXPECT_EQ(doc.sequenceables[0].name, "IRemoteObject");
}

TEST(IdlParser, SequenceablesInTheirThreeForms) {
    const Document doc = parsed(R"(
        sequenceable a.b..C.D;
        sequenceable e.f...G;
        sequenceable H.I;
        interface J { void K([in] D d, [in] G g, [in] I i); }
    )");
    ASSERT_EQ(doc.sequenceables.size(), 3u);
    EXPECT_EQ(doc.sequenceables[0].include_dir, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(doc.sequenceables[0].name_space, (std::vector<std::string>{"C"}));
    EXPECT_EQ(doc.sequenceables[1].include_dir, (std::vector<std::string>{"e", "f"}));
    EXPECT_TRUE(doc.sequenceables[1].name_space.empty());
    EXPECT_EQ(doc.sequenceables[2].name_space, (std::vector<std::string>{"H"}));
    EXPECT_TRUE(doc.sequenceables[2].include_dir.empty());
}

TEST(IdlParser, PackageImportsCommentsAndAOnewayInterface) {
    const Document doc = parsed(R"(
        // a line comment
        package ohos.app   /* without its semicolon, as some upstream files */
        import ohos.app.IAbilityConnection;
        [oneway] interface ohos.app.IAbilityManager {
            void Start([in] IAbilityConnection connection, [in] List<Map<String, long[]>> nested);
        };
    )");
    EXPECT_EQ(doc.package, (std::vector<std::string>{"ohos", "app"}));
    EXPECT_TRUE(doc.interface.oneway);
    EXPECT_TRUE(doc.interface.methods[0].oneway) << "a oneway interface makes its methods oneway";
    const Type& nested = doc.interface.methods[0].parameters[1].type;
    EXPECT_EQ(nested.kind, TypeKind::list);
    EXPECT_EQ(nested.element[0].kind, TypeKind::map);
    EXPECT_EQ(nested.element[0].element[1].kind, TypeKind::array);
}

TEST(IdlParser, DirectionsAndTheFdExtension) {
    const Document doc = parsed("interface I { FileDescriptor F([in] int a, [out] String b, [inout] FileDescriptor c); }");
    const auto& p = doc.interface.methods[0].parameters;
    EXPECT_EQ(p[0].direction, Direction::in);
    EXPECT_EQ(p[1].direction, Direction::out);
    EXPECT_EQ(p[2].direction, Direction::inout);
    EXPECT_EQ(p[2].type.kind, TypeKind::file_descriptor);
    EXPECT_EQ(doc.interface.methods[0].result.kind, TypeKind::file_descriptor);
}

TEST(IdlParser, ErrorsSayWhereAndWhatWasExpected) {
    EXPECT_EQ(error_of("interface I {\n    int F([in] int a)\n}"), "t.idl:3:1: expected ';' after the method, found '}'");
    EXPECT_EQ(error_of("interface I {\n  void F(int a);\n}"),
              "t.idl:2:10: expected '[' before a parameter's direction ([in], [out] or [inout]), found 'int'");
    EXPECT_EQ(error_of("interface I { void F([sideways] int a); }"),
              "t.idl:1:23: expected in, out or inout, found 'sideways'");
    EXPECT_EQ(error_of("interface I { void F([in] Widget w); }"),
              "t.idl:1:27: unknown type 'Widget': declare it with 'sequenceable' or 'interface' first");
    EXPECT_EQ(error_of("interface I { void F([in] int a); void F([in] int b); }"),
              "t.idl:1:35: method 'F' declared twice (overloads are not IDL)");
    EXPECT_EQ(error_of("interface I { [oneway] int F(); }"), "t.idl:1:15: a oneway method returns void: nothing comes back");
    EXPECT_EQ(error_of("interface I { [oneway] void F([out] int a); }"),
              "t.idl:1:31: a oneway method has [in] parameters only: nothing comes back");
    EXPECT_EQ(error_of("interface I { void F([in] Map<List<int>, int> m); }"),
              "t.idl:1:27: a Map's key is boolean, byte, short, int, long or String, not 'List'");
    EXPECT_EQ(error_of("interface I { void F([in] void v); }"), "t.idl:1:22: a parameter cannot be void");
    EXPECT_EQ(error_of("interface I { void F([in] int class); }"),
              "t.idl:1:31: 'class' is reserved in generated code (a C++ keyword, a generated member, or ends in '_'): rename it");
    EXPECT_EQ(error_of("interface I { void F(); }\ninterface J { }"),
              "t.idl:2:1: expected the end of the file after the interface (one interface per file), found 'interface'");
    EXPECT_EQ(error_of("interface I { [cached] void F(); }"),
              "t.idl:1:16: unknown attribute 'cached' on a method (expected 'oneway')");
    EXPECT_EQ(error_of("interface I { void F(); } /* open"), "t.idl:1:27: unexpected '/* without */', which IDL has no use for");
    EXPECT_EQ(error_of("interface I { void F() @; }"), "t.idl:1:24: unexpected '@', which IDL has no use for");
    EXPECT_EQ(error_of(""), "t.idl:1:1: expected 'import', 'sequenceable' or 'interface', found the end of the file");
    EXPECT_EQ(error_of("sequenceable a..b..C; interface I {}"),
              "t.idl:1:18: a sequenceable has one '..' at most (includedir..namespace.Type)");
}

TEST(IdlGenerator, FileNamesFollowUpstreamsSnakeCase) {
    EXPECT_EQ(snake_case("IIdlTestService"), "iidl_test_service");
    EXPECT_EQ(snake_case("IGreeter"), "igreeter");
    EXPECT_EQ(snake_case("IV2Thing"), "iv2_thing");
}

TEST(IdlGenerator, MethodCodesFollowDeclarationOrderFromOne) {
    const auto files = generate_cpp(parsed("interface N.IFoo { void A(); int B([in] int x); }"), Lineage{});
    EXPECT_NE(files.header.find("A = 1,\n        B = 2,"), std::string::npos) << files.header;
    EXPECT_NE(files.header.find("class FooProxy final : public IFoo"), std::string::npos);
    EXPECT_NE(files.header.find("class FooStub : public IFoo"), std::string::npos);
}

TEST(IdlVersions, TheCanonicalFormParsesBackToItselfAndIgnoresLayout) {
    const Document doc = parsed(R"(
        package p; sequenceable a.b..C.D; sequenceable e...F; import x.IG;
        [oneway] interface n.IH { void M([in] D d, [in] F[] f, [in] IG g, [in] Map<String, List<long>> m); }
    )");
    const std::string canonical = canonical_form(doc);
    EXPECT_EQ(canonical,
              "sequenceable a.b..C.D;\nsequenceable e...F;\ninterface x.IG;\ninterface n.IH {\n"
              "    [oneway] void M([in] D d, [in] F[] f, [in] IG g, [in] Map<String, List<long>> m);\n}\n");
    EXPECT_EQ(canonical_form(parsed(canonical)), canonical);
    EXPECT_EQ(interface_hash(parsed(canonical)), interface_hash(doc));
    EXPECT_NE(interface_hash(parsed("interface n.IH { void M(); }")), interface_hash(doc));
}

TEST(IdlVersions, OnlyAppendedMethodsAreCompatible) {
    const Document base = parsed("interface n.I { int A([in] int x); void B(); }");
    EXPECT_TRUE(compatibility_errors(base, parsed("interface n.I { int A([in] int y); void B(); long C(); }")).empty());
    EXPECT_EQ(compatibility_errors(base, parsed("interface n.I { void B(); int A([in] int x); }")).size(), 2u);
    EXPECT_EQ(compatibility_errors(base, parsed("interface n.I { int A([inout] int x); void B(); }")).size(), 1u);
    EXPECT_EQ(compatibility_errors(base, parsed("interface n.J { int A([in] int x); void B(); }")),
              (std::vector<std::string>{"the interface is n.J, was n.I"}));
}

}  // namespace
}  // namespace liteipc::idl

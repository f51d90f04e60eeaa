"""Statement files written to the specifications: BAI2 (version 2, with its control
totals, record counts and 88 continuation records) and ISO 20022 camt.053.001.08."""

from __future__ import annotations

# Account 1: opening 1,000.00 (010) and closing 1,585.00 (015), the summary continued on an
# 88 record; a bag credited with its number, a card batch whose batch id is on a
# continuation of the text, and a bank fee (a debit, type 495). Account 2: one credit.
# 49 totals: 100000 + 158500 + 12500 + 48000 + 2000 = 321000 over 7 records; 30000 over 3.
BAI2 = """\
01,BANKCA,PAYDESK,261207,0600,0412,80,1,2/
02,PAYDESK,BANKCA,1,261207,2400,CAD,2/
03,123456789,CAD,010,100000,,/
88,015,158500,,/
16,301,12500,Z,BR001,BAG-1001,COUNTER DEPOSIT
16,399,48000,Z,BR002,,CARD SETTLEMENT
88,BATCH B-20261207-1 SANDBOX
16,495,2000,Z,BR003,,SERVICE CHARGE
49,321000,7/
03,987654321,CAD/
16,301,30000,Z,BR004,,DEPOSIT
49,30000,3/
98,351000,2,12/
99,351000,1,14/
"""

CAMT053 = """\
<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>MSG-20261208-1</MsgId><CreDtTm>2026-12-08T06:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-20261207-001</Id>
      <CreDtTm>2026-12-08T06:00:00</CreDtTm>
      <Acct><Id><IBAN>CA0012345678901234</IBAN></Id><Ccy>CAD</Ccy></Acct>
      <Ntry>
        <NtryRef>1</NtryRef>
        <Amt Ccy="CAD">125.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-12-07</Dt></BookgDt>
        <AcctSvcrRef>BR-0001</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>CNTR</Cd><SubFmlyCd>CDPT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>BAG-1001</EndToEndId></Refs>
          <RmtInf><Ustrd>Counter deposit</Ustrd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="CAD">480.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <BookgDt><Dt>2026-12-08</Dt></BookgDt>
        <AcctSvcrRef>BR-0002</AcctSvcrRef>
        <AddtlNtryInf>CARD SETTLEMENT B-20261207-1</AddtlNtryInf>
      </Ntry>
      <Ntry>
        <Amt Ccy="CAD">20.00</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <BookgDt><DtTm>2026-12-08T10:00:00</DtTm></BookgDt>
        <AcctSvcrRef>BR-0003</AcctSvcrRef>
        <AddtlNtryInf>SERVICE CHARGE</AddtlNtryInf>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""

#include <cstdio>
#include <cstdlib>
#include <vector>
#include <string>
#include "FRFXLL.h"
#include <sys/stat.h>
const char* g_fj_dump_dir = nullptr;
static bool readpgm(const char* p, std::vector<unsigned char>& d, int& w, int& h){
  FILE* f=fopen(p,"rb"); if(!f) return false; char m[3]={0}; int mx;
  if(fscanf(f,"%2s",m)!=1||std::string(m)!="P5") return false;
  int c; auto skip=[&](){ while((c=fgetc(f))!=EOF){ if(c=='#'){while((c=fgetc(f))!='\n'&&c!=EOF);} else if(!isspace(c)){ungetc(c,f);break;} } };
  skip(); fscanf(f,"%d",&w); skip(); fscanf(f,"%d",&h); skip(); fscanf(f,"%d",&mx); fgetc(f);
  d.resize(w*h); fread(d.data(),1,w*h,f); fclose(f); return true; }
int main(int argc,char**argv){
  for(int i=1;i<argc;i++){
    std::vector<unsigned char> img; int w,h; int ppi=500;
    if(!readpgm(argv[i],img,w,h)){printf("%s\tunreadable\n",argv[i]);continue;}
    std::string dd; if (const char* g = getenv("FJ_GOLDEN")) { std::string b = argv[i]; b = b.substr(b.find_last_of('/')+1); b = b.substr(0, b.size()-4); dd = std::string(g) + "/" + b; mkdir(dd.c_str(), 0755); g_fj_dump_dir = dd.c_str(); FILE* f=fopen((dd+"/input.pgm").c_str(),"wb"); fprintf(f,"P5\n%d %d\n255\n",w,h); fwrite(img.data(),1,img.size(),f); fclose(f);}
    FRFXLL_HANDLE ctx=NULL, fs=NULL;
    FRFXLLCreateLibraryContext(&ctx);
    FRFXLL_RESULT r=FRFXLLCreateFeatureSetFromRaw(ctx,img.data(),img.size(),w,h,ppi,FRFXLL_FEX_ENABLE_ENHANCEMENT,&fs);
    FRFXLLCloseHandle(&ctx);
    if(r<0){printf("%s\terror %d\n",argv[i],(int)r); if(!dd.empty()){FILE* f=fopen((dd+"/error.txt").c_str(),"w"); fprintf(f,"%d\n",(int)r); fclose(f);} continue;}
    unsigned int n=0; FRFXLLGetMinutiaInfo(fs,&n,nullptr);
    std::vector<FRFXLL_Basic_19794_2_Minutia> m(n);
    FRFXLLGetMinutiae(fs,BASIC_19794_2_MINUTIA_STRUCT,&n,m.data());
    printf("%s\t%u",argv[i],n);
    if (!dd.empty()) { FILE* f=fopen((dd+"/minutiae.txt").c_str(),"w"); for(unsigned k=0;k<n;k++) fprintf(f,"%d %d %d %d %d\n",(int)m[k].x,(int)m[k].y,(int)m[k].a,(int)m[k].q,(int)m[k].t); fclose(f);}
    for(unsigned k=0;k<n;k++) printf("\t%d,%d,%d,%d,%d",(int)m[k].x,(int)m[k].y,(int)m[k].a,(int)m[k].q,(int)m[k].t);
    printf("\n"); FRFXLLCloseHandle(&fs);
  }
}
